export interface Video {
  id: string;
  title: string;
  description: string;
  owner: string;
  created: string;
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

/** A view on its way to the history (metadata published `viewed`; 202). */
export interface ViewAccepted {
  videoId: string;
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
