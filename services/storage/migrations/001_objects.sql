-- Object metadata. A row per stored version; the blob (encrypted) is named by
-- version_id in the backend. Keys compare byte-wise (COLLATE "C"), as S3 lists them.
CREATE TABLE objects (
  bucket text NOT NULL,
  key text COLLATE "C" NOT NULL,
  version_id text NOT NULL,
  is_latest boolean NOT NULL,
  -- A versioned delete leaves a marker: no blob, hides older versions.
  delete_marker boolean NOT NULL DEFAULT false,
  size bigint NOT NULL,
  etag text NOT NULL,
  content_type text NOT NULL,
  header_len integer NOT NULL,
  created timestamptz NOT NULL DEFAULT now(),
  seq bigserial NOT NULL,
  PRIMARY KEY (bucket, key, version_id)
);
-- At most one latest version per key: two racing puts cannot both win.
CREATE UNIQUE INDEX objects_latest ON objects (bucket, key) WHERE is_latest;
CREATE UNIQUE INDEX objects_version ON objects (version_id);
