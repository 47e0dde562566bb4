import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api/errors.js';

export type Load<T> =
  { state: 'loading' } | { state: 'done'; value: T } | { state: 'failed'; message: string };

/** Runs `load` when `key` changes; a result that arrives after the page moved on is dropped. */
export function useLoad<T>(key: string, load: () => Promise<T>): Load<T> {
  const [result, setResult] = useState<Load<T>>({ state: 'loading' });
  useEffect(() => {
    let current = true;
    setResult({ state: 'loading' });
    load().then(
      (value) => current && setResult({ state: 'done', value }),
      (err: unknown) => current && setResult({ state: 'failed', message: messageOf(err) }),
    );
    return () => {
      current = false;
    };
    // `load` is a fresh closure on every render; `key` says when it means something new.
  }, [key]);
  return result;
}

export function messageOf(err: unknown): string {
  return err instanceof ApiError ? err.message : 'Something went wrong. Please try again.';
}
