import type { CommandSpec } from '../cli/spec.js';
import { FILE, HOME, OPERATOR_OPTIONS, output } from './table-options.js';

// The commands over the platform's resource services: storage, the bus, the KMS.

const storageAdmin =
  "Calls the running fleet's storage service over mTLS as the `operator` identity (as `flotilla users`\ndoes); the bucket policies decide, and the storage service audits every call. The storage service\nis found in FLOTILLA_STORAGE_URL or <home>/fleet.json. Long transfers show a progress bar on a terminal.";

export const storageCommands: CommandSpec = {
  name: 'storage',
  summary: 'buckets and objects (ls, put, get, rm, policy)',
  description: `Objects in the fleet's storage service, encrypted at rest. ${storageAdmin}`,
  subcommands: [
    {
      name: 'ls',
      summary: "the buckets, one a line; or a bucket's objects and prefixes",
      positionals: [{ name: 'bucket[/prefix]' }],
      options: OPERATOR_OPTIONS,
      examples: ['flotilla storage ls', 'flotilla storage ls videos/cats/'],
      handler: async () => (await import('./storage.js')).ls,
    },
    {
      name: 'put',
      summary: 'store a file (or - for standard input) as an object',
      positionals: [
        { name: 'bucket/key', required: true },
        { name: 'file', required: true },
      ],
      options: {
        'content-type': {
          type: 'string',
          value: 'TYPE',
          description: "the object's media type",
          default: 'application/octet-stream',
        },
        ...OPERATOR_OPTIONS,
      },
      examples: ['flotilla storage put videos/cats/1.mp4 cat.mp4 --content-type video/mp4'],
      handler: async () => (await import('./storage.js')).put,
    },
    {
      name: 'get',
      summary: 'an object to a file, or to standard output',
      positionals: [{ name: 'bucket/key', required: true }, { name: 'file' }],
      options: {
        version: { type: 'string', value: 'ID', description: 'a version of the object' },
        ...OPERATOR_OPTIONS,
      },
      examples: ['flotilla storage get videos/cats/1.mp4 cat.mp4'],
      handler: async () => (await import('./storage.js')).get,
    },
    {
      name: 'rm',
      summary: 'delete an object (a delete marker in a versioned bucket)',
      positionals: [{ name: 'bucket/key', required: true }],
      options: OPERATOR_OPTIONS,
      handler: async () => (await import('./storage.js')).rmObject,
    },
    {
      name: 'policy',
      summary: "a bucket's effective policy: its own file and the fleet's storage policies",
      positionals: [{ name: 'bucket', required: true }],
      options: OPERATOR_OPTIONS,
      handler: async () => (await import('./storage.js')).policy,
    },
  ],
};

const busAdmin =
  "When the fleet runs, the live figures come from its broker: the embedded broker's admin API,\ncalled over mTLS as the `operator` identity (the policies grant it bus:Inspect and bus:Replay,\nand the broker audits every call; found in FLOTILLA_BROKER_URL or <home>/fleet.json), or\nRabbitMQ through BUS_URL when the fleet runs on it.";
const SOURCE_OPTIONS = {
  topic: { type: 'string', value: 'TOPIC', description: "a topic (with --group: one service's copy)" },
  group: { type: 'string', value: 'SERVICE', description: 'the subscribing service of --topic' },
} as const;

export const busCommands: CommandSpec = {
  name: 'bus',
  summary: "the message bus's queues and topics, depths and dead letters, replay; RabbitMQ users per service",
  description: `The queues and topics of the fleet (services[].bus in the fleet file): who sends, consumes,\npublishes and subscribes. The fleet's Cedar policies decide whether each may (bus:Send, …).\n${busAdmin}`,
  subcommands: [
    {
      name: 'queues',
      summary:
        'each queue, its senders and consumers (one consumer handles each message); DEPTH and DEAD when the fleet runs',
      options: { output: output(['table', 'json']), file: FILE, ...OPERATOR_OPTIONS },
      examples: ['flotilla bus queues', 'flotilla bus queues -o json'],
      handler: async () => (await import('./bus.js')).queues,
    },
    {
      name: 'topics',
      summary:
        'each topic, its publishers and subscribing services (each gets a copy); DEPTH and DEAD when the fleet runs',
      options: { output: output(['table', 'json']), file: FILE, ...OPERATOR_OPTIONS },
      examples: ['flotilla bus topics'],
      handler: async () => (await import('./bus.js')).topics,
    },
    {
      name: 'dead-letters',
      summary: "the dead letters of a queue, of one service's copy of a topic, or of every queue",
      positionals: [{ name: 'queue' }],
      options: {
        ...SOURCE_OPTIONS,
        limit: { type: 'string', value: 'N', description: 'at most N (1-1000)', default: '100' },
        output: output(['table', 'json']),
        file: FILE,
        ...OPERATOR_OPTIONS,
      },
      examples: [
        'flotilla bus dead-letters',
        'flotilla bus dead-letters viewed -o json',
        'flotilla bus dead-letters --topic video-uploaded --group history',
      ],
      handler: async () => (await import('./bus.js')).deadLetters,
    },
    {
      name: 'replay',
      summary: 'move a dead letter (or --all of a queue) back to its queue, attempts reset',
      positionals: [{ name: 'id|queue' }],
      options: {
        all: { type: 'boolean', description: 'every dead letter of the queue (or of --topic and --group)' },
        ...SOURCE_OPTIONS,
        file: FILE,
        ...OPERATOR_OPTIONS,
      },
      examples: [
        'flotilla bus replay 42',
        'flotilla bus replay --all viewed',
        'flotilla bus replay --all --topic video-uploaded --group history',
      ],
      handler: async () => (await import('./bus.js')).replay,
    },
    {
      name: 'provision',
      summary: 'a RabbitMQ user per service, with permissions on exactly its own queues and topics',
      description:
        "For each service that declares bus use: a RabbitMQ user named by its SPIFFE ID whose configure,\nwrite and read permissions match exactly its own queues, exchanges and dead-letter queues, and\nthe fleet's queues, exchanges and bindings, imported with `rabbitmqctl import_definitions` on\nstandard input. Passwords are random, written to <home>/secrets/bus/<service> (0600) and never\nprinted; running it again replaces them. See docs/bus-rabbitmq.md.",
      options: {
        file: FILE,
        home: HOME,
        vhost: {
          type: 'string',
          value: 'VHOST',
          description: 'the RabbitMQ virtual host',
          default: "BUS_URL's path, else /",
        },
        'dry-run': {
          type: 'boolean',
          description: 'print the users and their permission regexes; change nothing',
        },
        definitions: {
          type: 'string',
          value: 'FILE',
          description: 'write the definitions JSON (0600, with the passwords) instead of importing them',
        },
        tls: {
          type: 'boolean',
          description: 'passwordless users, for EXTERNAL login with workload certificates (amqps://)',
        },
        output: output(['table', 'json']),
      },
      examples: [
        'flotilla bus provision --dry-run',
        'flotilla bus provision --vhost flixtube',
        'flotilla bus provision --tls --definitions rabbit-definitions.json',
      ],
      handler: async () => (await import('./bus-provision.js')).provision,
    },
  ],
};

const kmsAdmin =
  "Calls the running fleet's KMS (mTLS) as the `operator` workload, as `flotilla users` calls auth;\nthe fleet's policies let `operator` administer keys and read their usage, never encrypt or\ndecrypt with them, and the KMS audits every call. The KMS is found in FLOTILLA_KMS_URL or\n<home>/fleet.json.";
const KEY = [{ name: 'name', required: true }] as const;
const ONE_KEY = { output: output(['text', 'json']), ...OPERATOR_OPTIONS };

export const kmsCommands: CommandSpec = {
  name: 'kms',
  summary: 'KMS keys: list, create, rotate, disable, enable, delete, usage',
  description: `The fleet's KMS keys. ${kmsAdmin}`,
  subcommands: [
    {
      name: 'keys',
      summary: 'list the keys',
      options: { output: output(['table', 'json']), ...OPERATOR_OPTIONS },
      handler: async () => (await import('./kms.js')).keys,
    },
    {
      name: 'create',
      summary: 'create a key',
      positionals: KEY,
      options: {
        'rotation-days': { type: 'string', value: 'N', description: 'rotate automatically every N days' },
        description: { type: 'string', value: 'TEXT', description: 'what the key is for' },
        ...ONE_KEY,
      },
      examples: ['flotilla kms create reports --rotation-days 90 --description "monthly reports"'],
      handler: async () => (await import('./kms.js')).create,
    },
    {
      name: 'rotate',
      summary: 'a new key version for encryption (older versions still decrypt)',
      positionals: KEY,
      options: ONE_KEY,
      handler: async () => (await import('./kms.js')).rotate,
    },
    {
      name: 'disable',
      summary: 'refuse every use of a key until it is enabled',
      positionals: KEY,
      options: ONE_KEY,
      handler: async () => (await import('./kms.js')).disable,
    },
    {
      name: 'enable',
      summary: 'enable a disabled key',
      positionals: KEY,
      options: ONE_KEY,
      handler: async () => (await import('./kms.js')).enable,
    },
    {
      name: 'schedule-deletion',
      summary: 'destroy a key after 7-30 days (unusable meanwhile)',
      positionals: KEY,
      options: {
        days: { type: 'string', value: 'N', description: 'the waiting period, 7 to 30 days' },
        ...ONE_KEY,
      },
      examples: ['flotilla kms schedule-deletion reports --days 30'],
      handler: async () => (await import('./kms.js')).scheduleDeletion,
    },
    {
      name: 'cancel-deletion',
      summary: 'cancel a scheduled deletion (the key comes back disabled)',
      positionals: KEY,
      options: ONE_KEY,
      handler: async () => (await import('./kms.js')).cancelDeletion,
    },
    {
      name: 'usage',
      summary: 'who used a key for what (key-usage records), newest first',
      positionals: KEY,
      options: {
        since: { type: 'string', value: 'ISO', description: 'from this time', default: '7 days ago' },
        limit: { type: 'string', value: 'N', description: 'at most N records (1-1000)', default: '100' },
        output: output(['table', 'json']),
        ...OPERATOR_OPTIONS,
      },
      examples: ['flotilla kms usage storage --since 2026-12-01T00:00:00Z -o json'],
      handler: async () => (await import('./kms.js')).usage,
    },
  ],
};
