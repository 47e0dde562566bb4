export interface Video {
  id: string;
  title: string;
  description: string;
  owner: string;
  created: string;
  /** On a single video: what the signed-in user may do with it (metadata's policy decides). */
  actions?: { update: boolean; delete: boolean };
}

export interface VideoPage {
  videos: Video[];
  next: string | null;
}

export interface HistoryEntry {
  id: string;
  videoId: string;
  title: string | null;
  viewed: string;
}

export interface History {
  user: string;
  views: HistoryEntry[];
}

/** RFC 9457 problem details, as every Flotilla service and the gateway answer errors. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
}

/** `POST /api/videos/:id/stream-token`: where the player streams from, until `expires`. */
export interface StreamTicket {
  url: string;
  expires: string;
}

/** `GET /api/videos/:id/likes`: the count, and what the caller did. */
export interface Likes {
  videoId: string;
  likes: number;
  liked: boolean;
  favorited: boolean;
}

export interface FavoritesPage {
  favorites: Array<{ videoId: string; favorited: string }>;
  next: string | null;
}

export interface Recommendation {
  videoId: string;
  /** null when the recommendations service could not ask metadata. */
  title: string | null;
  score: number;
  reason: 'co-viewed' | 'popular';
}

export interface Recommendations {
  user: string;
  recommendations: Recommendation[];
}

/** `POST /api/uploads` answers 201 with this. */
export interface Uploaded {
  id: string;
  title: string;
  contentType: string;
  size: number;
}

/** One request the page may offer, asked of `POST /api/permissions`. */
export interface PermissionRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
}
