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

  const fetchTicket = () => {
    let current = true;
    api.streamTicket(videoId).then(
      (ticket) => current && setSrc(ticket.url),
      (err: unknown) => current && setError(messageOf(err)),
    );
    return () => {
      current = false;
    };
  };
  useEffect(fetchTicket, [api, videoId]);

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
