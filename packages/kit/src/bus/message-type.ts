import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { registerFormats } from './formats.js';

// Message schemas use string formats (uuid, date-time): TypeBox checks them only once registered.
registerFormats();

/** A message type: its name on the wire and the schema of its body (TypeBox, as the kit's routes). */
export interface MessageType<S extends TSchema = TSchema> {
  readonly name: string;
  readonly schema: S;
  /** Why `body` is not a `Static<S>` (the first error, located), or undefined when it is. */
  problem(body: unknown): string | undefined;
}

export type MessageBody<M extends MessageType> = Static<M['schema']>;

const NAME = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * Defines a message type; both ends import the same definition (a wire contract lives in
 * one module), and the bus checks the body against it on send and on receipt.
 *
 * @example
 * export const Viewed = defineMessage('viewed', Type.Object({ videoId: Type.String() }));
 * await ctx.bus.send('viewed', Viewed, { videoId: 'v1' });
 */
export function defineMessage<S extends TSchema>(name: string, schema: S): MessageType<S> {
  if (!NAME.test(name)) throw new TypeError(`message type "${name}" must be 1-200 of A-Z a-z 0-9 . _ : -`);
  const compiled = TypeCompiler.Compile(schema);
  return {
    name,
    schema,
    problem(body) {
      const first = compiled.Errors(body).First();
      return first && `${name}${first.path || '/'}: ${first.message}`;
    },
  };
}
