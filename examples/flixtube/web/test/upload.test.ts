import { describe, expect, it } from 'vitest';
import { checkUpload, parseProblem, uploadFailure, uploadUrl } from '../src/api/upload.js';

const file = (type: string, size = 10) => new File([new Uint8Array(size)], 'clip', { type });

describe('uploadFailure', () => {
  it('says why a file was refused, with the service’s detail', () => {
    expect(uploadFailure(415, { detail: 'the file is not a video (video/mp4 declared)' })).toBe(
      'That file is not a video FlixTube accepts (MP4 or WebM): the file is not a video (video/mp4 declared).',
    );
    expect(uploadFailure(413, { detail: 'the upload is larger than 4 GiB' })).toBe(
      'That file is too large to upload: the upload is larger than 4 GiB.',
    );
    expect(uploadFailure(413, undefined)).toBe('That file is too large to upload.');
    expect(uploadFailure(400, { detail: 'the upload is empty' })).toBe(
      'The upload was not accepted: the upload is empty.',
    );
  });

  it('does not say the same thing twice', () => {
    expect(uploadFailure(403, { detail: 'you may not upload videos' })).toBe('You may not upload videos.');
    expect(uploadFailure(403, { detail: 'uploads need the uploader role' })).toBe(
      'You may not upload videos: uploads need the uploader role.',
    );
  });

  it('never shows a server error’s detail', () => {
    expect(uploadFailure(500, { detail: 'storage at 10.0.0.3 refused' })).toBe(
      'FlixTube could not store the video right now. Please try again.',
    );
    expect(uploadFailure(0, undefined)).toContain('did not reach FlixTube');
  });
});

describe('parseProblem', () => {
  it('reads problem+json and ignores anything else', () => {
    expect(parseProblem('application/problem+json; charset=utf-8', '{"detail":"d"}')).toEqual({
      detail: 'd',
    });
    expect(parseProblem('text/html', '{"detail":"d"}')).toBeUndefined();
    expect(parseProblem('application/json', 'not json')).toBeUndefined();
    expect(parseProblem(null, '')).toBeUndefined();
  });
});

describe('checkUpload', () => {
  it('accepts an MP4 or WebM file with a title', () => {
    expect(checkUpload(file('video/mp4'), 'A title')).toBeUndefined();
    expect(checkUpload(file('video/webm'), 'A title')).toBeUndefined();
  });

  it('refuses before sending what the server would refuse', () => {
    expect(checkUpload(undefined, 't')).toBe('Choose a video file to upload.');
    expect(checkUpload(file('text/plain'), 't')).toBe('Only MP4 and WebM videos can be uploaded.');
    expect(checkUpload(file('video/mp4', 0), 't')).toBe('That file is empty.');
    expect(checkUpload(file('video/mp4'), '  ')).toBe('Give the video a title.');
  });
});

describe('uploadUrl', () => {
  it('puts the details in the query, encoded', () => {
    expect(uploadUrl('/api', ' Cats & dogs ', '')).toBe('/api/uploads?title=Cats+%26+dogs');
    expect(uploadUrl('/api', 'T', 'a=b')).toBe('/api/uploads?title=T&description=a%3Db');
  });
});
