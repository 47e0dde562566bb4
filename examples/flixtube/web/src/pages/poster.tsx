import type { Api } from '../api/client.js';
import { usePoster } from '../use-poster.js';

interface Props {
  api: Api;
  videoId: string;
  /** Text for the image; empty when a link next to it already names the video. */
  alt: string;
  class?: string;
}

/** The poster image, or a neutral box while there is none (never a broken image). */
export function Poster({ api, videoId, alt, class: className = 'poster' }: Props) {
  const poster = usePoster(api, videoId);
  if (poster.state !== 'ready')
    return <div class={`${className} placeholder`} aria-hidden="true" data-testid="poster-placeholder" />;
  return <img class={className} src={poster.url} alt={alt} data-testid="poster" />;
}
