import type { IncomingMessage, ServerResponse } from 'node:http';
import { blocksArg, fail, isTs, jsonArg, stringArg, type MethodSpec } from './method-helpers.js';
import { MAX_MESSAGE_BLOCKS, MAX_MESSAGE_TEXT } from './chat-methods.js';
import { readMultipart } from './read-request.js';
import { messageSequences } from './mrkdwn-syntax.js';
import { postingRefusal, resolveChannel, type FakeUpload, type SlackState } from './state.js';

/** The path prefix of the upload URLs the fake hands out; the bytes are POSTed there. */
export const UPLOAD_PATH = '/upload/v1/';

const MIME_TYPES: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  json: 'application/json',
  csv: 'text/csv',
  png: 'image/png',
  gz: 'application/gzip',
};

function describeFile(state: SlackState, upload: FakeUpload): Record<string, unknown> {
  const extension = upload.filename.includes('.') ? upload.filename.split('.').pop()!.toLowerCase() : '';
  const now = Math.floor(Date.now() / 1000);
  return {
    id: upload.file_id,
    created: now,
    timestamp: now,
    name: upload.filename,
    title: upload.title ?? upload.filename,
    mimetype: MIME_TYPES[extension] ?? 'application/octet-stream',
    filetype: extension || 'binary',
    user: state.identity.botUserId,
    user_team: state.identity.teamId,
    size: upload.bytes?.length ?? upload.length,
    is_external: false,
    channels: upload.channel_id ? [upload.channel_id] : [],
    url_private: `https://files.slack.com/files-pri/${state.identity.teamId}-${upload.file_id}/${encodeURIComponent(upload.filename)}`,
  };
}

/** files.getUploadURLExternal and files.completeUploadExternal (the v2 upload flow `filesUploadV2` drives). */
export const fileMethods: Record<string, MethodSpec> = {
  'files.getUploadURLExternal': {
    token: 'bot',
    handle(params, { state, baseUrl }) {
      const filename = stringArg(params, 'filename');
      const length = Number(stringArg(params, 'length'));
      if (filename === undefined || !Number.isInteger(length) || length <= 0) return fail('invalid_arguments');
      const fileId = state.nextId('F');
      state.uploads.set(fileId, { file_id: fileId, filename, length, completed: false, sequences: [] });
      return { ok: true, upload_url: `${baseUrl}${UPLOAD_PATH}${fileId}`, file_id: fileId };
    },
  },
  'files.completeUploadExternal': {
    token: 'bot',
    handle(params, { state }) {
      const files = jsonArg(params, 'files');
      if (!files.present || !files.ok || !Array.isArray(files.value) || files.value.length === 0) {
        return fail('invalid_arguments');
      }
      const entries = files.value as Array<{ id?: unknown; title?: unknown }>;
      const uploads: FakeUpload[] = [];
      for (const entry of entries) {
        const upload = typeof entry?.id === 'string' ? state.uploads.get(entry.id) : undefined;
        if (!upload || upload.bytes === undefined) return fail('file_not_found');
        uploads.push(upload);
      }
      const channelArg = stringArg(params, 'channel_id') ?? stringArg(params, 'channels');
      const channel = channelArg === undefined ? undefined : resolveChannel(state, channelArg);
      if (channelArg !== undefined && !channel) return fail('channel_not_found');
      const refused = channel ? postingRefusal(state, channel, false) : undefined;
      if (refused) return fail(refused);
      const threadTs = stringArg(params, 'thread_ts');
      if (threadTs !== undefined && !isTs(threadTs)) return fail('invalid_thread_ts');
      const { blocks, error } = blocksArg(params, MAX_MESSAGE_BLOCKS);
      if (error) return error;
      const initialComment = stringArg(params, 'initial_comment');
      if (initialComment !== undefined && initialComment.length > MAX_MESSAGE_TEXT) return fail('msg_too_long');
      // Documented: "If the initial_comment field is provided, the blocks field is ignored."
      const shownBlocks = initialComment === undefined ? blocks : undefined;
      const sequences = messageSequences(initialComment, shownBlocks);

      uploads.forEach((upload, index) => {
        const entry = entries[index];
        upload.completed = true;
        if (typeof entry?.title === 'string') upload.title = entry.title;
        if (channel) upload.channel_id = channel.id;
        if (threadTs) upload.thread_ts = threadTs;
        if (initialComment) upload.initial_comment = initialComment;
        if (shownBlocks) upload.blocks = shownBlocks;
        upload.sequences = sequences;
      });
      return { ok: true, files: uploads.map((u) => describeFile(state, u)) };
    },
  },
};

/** The POST of a file's bytes to its upload URL: raw or multipart (web-api sends multipart), answered `OK - <size>`. */
export async function receiveUpload(state: SlackState, req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): Promise<void> {
  const upload = state.uploads.get(decodeURIComponent(url.pathname.slice(UPLOAD_PATH.length)));
  if (!upload) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('upload URL not found');
    return;
  }
  const contentType = req.headers['content-type'] ?? '';
  let bytes = raw;
  if (contentType.toLowerCase().startsWith('multipart/form-data')) {
    const { files } = await readMultipart(contentType, raw);
    const [file] = files;
    if (file === undefined) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('no file part in the multipart body');
      return;
    }
    bytes = file.bytes;
  }
  upload.bytes = bytes;
  res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
}
