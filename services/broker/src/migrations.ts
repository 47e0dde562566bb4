import type { Migration } from '@flotilla/kit';

/** The broker's schema: messages until acknowledged, subscriptions, dead letters. */
export const migrations: readonly Migration[] = [
  {
    id: '001_bus',
    sql: `
-- A message waiting for, or leased to, a consumer. A topic's message is one row per
-- subscribing service, in that service's queue ("topic:<topic>:<service>").
CREATE TABLE bus_messages (
  id           bigserial PRIMARY KEY,
  queue        text NOT NULL,
  sender       text NOT NULL,
  message      jsonb NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  visible_at   timestamptz NOT NULL,
  lease        text,
  leased_until timestamptz,
  last_error   text,
  created_at   timestamptz NOT NULL
);
CREATE INDEX bus_messages_ready ON bus_messages (queue, id) WHERE lease IS NULL;
CREATE INDEX bus_messages_leased ON bus_messages (leased_until) WHERE lease IS NOT NULL;

-- A service that subscribes to a topic gets its own copy of each message from then on.
CREATE TABLE bus_subscriptions (
  topic      text NOT NULL,
  service    text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (topic, service)
);

CREATE TABLE bus_dead_letters (
  id         bigint PRIMARY KEY,
  queue      text NOT NULL,
  sender     text NOT NULL,
  message    jsonb NOT NULL,
  attempts   integer NOT NULL,
  last_error text NOT NULL,
  dead_at    timestamptz NOT NULL
);
CREATE INDEX bus_dead_letters_queue ON bus_dead_letters (queue, id);
`,
  },
];
