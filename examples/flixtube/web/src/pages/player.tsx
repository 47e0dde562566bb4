import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { messageOf } from '../use-load.js';
import { usePoster } from '../use-poster.js';

interface Props {
  api: Api;
  videoId: string;
  title: string;
}

// Renewals in a row without the player loading anything: past this the video is not playable.
const MAX_RENEWALS = 2;
const RENEW_BEFORE_MS = 15_000;
const MIN_RENEW_MS = 5_000;

/**
 * The video player. `<video>` cannot send the bearer token, so the page asks for a
 * short-lived stream URL; when the player fails (the token expired, say) it asks again
 * and resumes where it was. The browser's own Range requests do the seeking. Nothing is
 * streamed before the user plays: video-streaming counts a view on the first bytes.
 */
export function Player({ api, videoId, title }: Props) {
  const video = useRef<HTMLVideoElement>(null);
  const [src, setSrc] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const renewals = useRef(0);
  const resume = useRef<{ at: number; playing: boolean } | undefined>(undefined);
  const poster = usePoster(api, videoId, true);

  // Each fetch belongs to the page's current video; a late answer for an older one is dropped.
  const generation = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const fetchTicket = () => {
    const mine = generation.current;
    clearTimeout(timer.current);
    api.streamTicket(videoId).then(
      (ticket) => {
        if (mine !== generation.current) return;
        setSrc(ticket.url);
        // A player not started yet gets a fresh URL before this one expires, so that the
        // first press of play works; one that has started renews on its error instead.
        const left = Date.parse(ticket.expires) - Date.now() - RENEW_BEFORE_MS;
        timer.current = setTimeout(
          () => {
            const el = video.current;
            if (el?.paused && el.readyState === HTMLMediaElement.HAVE_NOTHING) fetchTicket();
          },
          Math.max(left, MIN_RENEW_MS),
        );
      },
      (err: unknown) => mine === generation.current && setError(messageOf(err)),
    );
  };
  useEffect(() => {
    fetchTicket();
    return () => {
      generation.current += 1;
      clearTimeout(timer.current);
    };
  }, [api, videoId]);

  const onError = () => {
    const el = video.current;
    if (!el || !src) return;
    if (renewals.current >= MAX_RENEWALS) {
      setError('This video cannot be played right now.');
      return;
    }
    renewals.current += 1;
    resume.current = { at: el.currentTime, playing: !el.paused };
    fetchTicket();
  };

  // A renewed URL: go back to where the player was, and play on if it was playing (with
  // preload="none" nothing loads until play, and the position waits as the start position).
  useEffect(() => {
    const el = video.current;
    const at = resume.current;
    if (!el || !src || !at) return;
    el.currentTime = at.at;
    if (at.playing) void el.play().catch(() => undefined);
  }, [src]);

  const onLoadedMetadata = () => {
    const el = video.current;
    const at = resume.current;
    resume.current = undefined;
    if (!el || !at) return;
    el.currentTime = at.at;
    if (at.playing) void el.play().catch(() => undefined);
  };

  return (
    <div class="player-box">
      <video
        ref={video}
        class="player"
        controls
        preload="none"
        src={src}
        poster={poster.state === 'ready' ? poster.url : undefined}
        aria-label={`Video: ${title}`}
        data-testid="player"
        data-poster={poster.state}
        onError={onError}
        onLoadedMetadata={onLoadedMetadata}
        onLoadedData={() => (renewals.current = 0)}
      />
      {error && (
        <p role="alert" class="error" data-testid="player-error">
          {error}
        </p>
      )}
    </div>
  );
}
