/**
 * Serves the built app (adapter-static's `build/`).
 *
 * - A path that names a file gets that file. A path whose last segment has an extension (`/x.js`, `/favicon.ico`)
 *   but names no file gets 404. Any other path (`/chat`, `/settings/link`) gets index.html: routing happens in the
 *   browser.
 * - Text files of 1 KiB or more go out brotli- (preferred) or gzip-compressed when Accept-Encoding allows. Each
 *   variant is made on the first request for it (brotli quality 11, or 9 past 256 KiB; gzip level 9) and kept in memory, keyed by path,
 *   mtime and size, in a cache of bounded size: nothing in the build step has to change.
 * - Every response carries a strong ETag (a hash of the bytes sent, so one per encoding) and Last-Modified; a
 *   matching If-None-Match, or failing that If-Modified-Since, gets 304 without a body.
 * - `/_app/immutable/*` (content-hashed names) is cached for a year; everything else, the service worker and
 *   index.html included, is revalidated on every use.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';

const TYPES: Record<string, string> = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.json': 'application/json',
	'.webmanifest': 'application/manifest+json',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.ico': 'image/x-icon',
	'.txt': 'text/plain; charset=utf-8',
	'.woff2': 'font/woff2',
	// Without its own type a browser refuses to compile a module while it downloads (WebAssembly.instantiateStreaming).
	'.wasm': 'application/wasm'
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.webmanifest', '.svg', '.txt', '.wasm']);
/** Below this, compression saves less than the headers it costs. */
const MIN_COMPRESS_BYTES = 1024;
/**
 * Brotli's quality 10 and 11 cost seconds on a file of a megabyte (the QR reader's 1.1 MB .wasm: 3.3 s at 11, 0.12 s
 * at 9 for 12 % more bytes), and the first request for it waits that long: larger files get quality 9.
 */
const MAX_BEST_BROTLI_BYTES = 256 * 1024;
/** Larger files are streamed from disk, uncompressed; nothing in the app's build comes near this. */
const MAX_IN_MEMORY_BYTES = 8 * 1024 * 1024;
/** Total size of the bodies kept in memory, all variants of all files. */
const CACHE_BYTES = 64 * 1024 * 1024;
const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

type Encoding = 'br' | 'gzip' | 'identity';
/** The bytes sent for one encoding; without a body, the file is streamed from disk. */
interface Variant {
	body?: Buffer;
	etag: string;
}
type Asset = Partial<Record<Encoding, Variant>> & { identity: Variant };

export function staticFiles(root: string) {
	const base = resolve(root);
	const immutableDir = join(base, '_app', 'immutable') + sep;
	const cache = new AssetCache(CACHE_BYTES);

	async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
		if (request.method !== 'GET' && request.method !== 'HEAD') {
			response.writeHead(405, { allow: 'GET, HEAD' }).end();
			return;
		}
		let pathname: string;
		try {
			pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
		} catch {
			response.writeHead(400).end();
			return;
		}
		if (pathname.includes('\0')) {
			response.writeHead(400).end();
			return;
		}
		const relative = normalize(sep + pathname);
		const candidate = resolve(base, '.' + relative);
		if (candidate !== base && !candidate.startsWith(base + sep)) {
			notFound(request, response);
			return;
		}
		let file = candidate;
		let info = await fileInfo(file);
		if (!info) {
			if (extname(relative)) {
				notFound(request, response);
				return;
			}
			file = join(base, 'index.html');
			info = await fileInfo(file);
		}
		if (!info) {
			response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('The app is not built yet: run npm run build.');
			return;
		}

		const asset = await cache.get(file, info);
		const encoding = chooseEncoding(request.headers['accept-encoding'], asset);
		const variant = asset[encoding] ?? asset.identity;
		const headers: OutgoingHttpHeaders = {
			...SECURITY_HEADERS,
			'cache-control': file.startsWith(immutableDir) ? 'public, max-age=31536000, immutable' : 'no-cache',
			etag: variant.etag,
			'last-modified': new Date(info.mtimeMs).toUTCString()
		};
		if (asset.br || asset.gzip) headers.vary = 'accept-encoding';
		if (notModified(request, variant.etag, info.mtimeMs)) {
			response.writeHead(304, headers).end();
			return;
		}
		response.writeHead(200, {
			...headers,
			'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
			'content-length': variant.body?.length ?? info.size,
			...(encoding === 'identity' ? {} : { 'content-encoding': encoding })
		});
		if (request.method === 'HEAD') response.end();
		else if (variant.body) response.end(variant.body);
		else
			createReadStream(file)
				.on('error', (error) => response.destroy(error))
				.pipe(response);
	}

	return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
		try {
			await serve(request, response);
		} catch (error) {
			// A file that vanished or became unreadable between stat and read: the request fails, the server goes on.
			if (response.headersSent) response.destroy(error as Error);
			else response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('The file could not be read.');
		}
	};
}

function notFound(request: IncomingMessage, response: ServerResponse): void {
	response.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
	response.end(request.method === 'HEAD' ? undefined : 'Not found.');
}

interface FileInfo {
	mtimeMs: number;
	size: number;
}

async function fileInfo(path: string): Promise<FileInfo | undefined> {
	try {
		const info = await stat(path);
		return info.isFile() ? { mtimeMs: info.mtimeMs, size: info.size } : undefined;
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return undefined;
		throw error;
	}
}

/** The best variant the client accepts by its q-values; br wins a tie, identity is the fallback. */
function chooseEncoding(header: string | undefined, asset: Asset): Encoding {
	const accepted = new Map<string, number>();
	for (const part of (header ?? '').split(',')) {
		const [token = '', ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
		const q = params.find((param) => param.startsWith('q='));
		accepted.set(token, q === undefined ? 1 : Number(q.slice(2)) || 0);
	}
	let chosen: Encoding = 'identity';
	let best = 0;
	for (const encoding of ['br', 'gzip'] as const) {
		const q = accepted.get(encoding) ?? accepted.get('*') ?? 0;
		if (asset[encoding] && q > best) {
			chosen = encoding;
			best = q;
		}
	}
	return chosen;
}

/** If-None-Match decides when present (weak comparison, RFC 9110 13.1.2); If-Modified-Since only without it. */
function notModified(request: IncomingMessage, etag: string, mtimeMs: number): boolean {
	const ifNoneMatch = request.headers['if-none-match'];
	if (ifNoneMatch !== undefined) {
		return ifNoneMatch.split(',').some((tag) => {
			const trimmed = tag.trim();
			return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
		});
	}
	const since = Date.parse(request.headers['if-modified-since'] ?? '');
	// HTTP dates have whole seconds.
	return !Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}

/** 160 bits of SHA-256 over the bytes sent. */
function strongEtag(hash: Hash): string {
	return `"${hash.digest('base64url').slice(0, 27)}"`;
}

const hashOf = (body: Buffer): Hash => createHash('sha256').update(body);

async function load(file: string, size: number): Promise<Asset> {
	if (size > MAX_IN_MEMORY_BYTES) {
		const hash = createHash('sha256');
		for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
		return { identity: { etag: strongEtag(hash) } };
	}
	const body = await readFile(file);
	const asset: Asset = { identity: { body, etag: strongEtag(hashOf(body)) } };
	if (COMPRESSIBLE.has(extname(file)) && body.length >= MIN_COMPRESS_BYTES) {
		const [br, gz] = await Promise.all([
			brotli(body, {
				params: {
					[zlib.BROTLI_PARAM_QUALITY]: body.length > MAX_BEST_BROTLI_BYTES ? 9 : 11,
					[zlib.BROTLI_PARAM_MODE]: extname(file) === '.wasm' ? zlib.BROTLI_MODE_GENERIC : zlib.BROTLI_MODE_TEXT,
					[zlib.BROTLI_PARAM_SIZE_HINT]: body.length
				}
			}),
			gzipped(body, { level: 9 })
		]);
		if (br.length < body.length) asset.br = { body: br, etag: strongEtag(hashOf(br)) };
		if (gz.length < body.length) asset.gzip = { body: gz, etag: strongEtag(hashOf(gz)) };
	}
	return asset;
}

/**
 * The files' variants by path, each valid for one mtime and size, least recently used dropped first once the bodies
 * pass `capacity` bytes. A load in progress is shared by the requests that wait for it.
 */
class AssetCache {
	readonly #entries = new Map<string, { version: string; asset: Promise<Asset>; bytes: number }>();
	#bytes = 0;

	constructor(readonly capacity: number) {}

	get(file: string, info: FileInfo): Promise<Asset> {
		const version = `${info.mtimeMs}:${info.size}`;
		const found = this.#entries.get(file);
		if (found) this.#remove(file);
		if (found?.version === version) {
			this.#entries.set(file, found);
			this.#bytes += found.bytes;
			return found.asset;
		}
		const entry = { version, asset: load(file, info.size), bytes: 0 };
		this.#entries.set(file, entry);
		entry.asset.then(
			(asset) => {
				if (this.#entries.get(file) !== entry) return;
				entry.bytes = Object.values(asset).reduce((sum, variant) => sum + (variant.body?.length ?? 0), 0);
				this.#bytes += entry.bytes;
				this.#evict();
			},
			// The request that started the load reports the error; the next request tries again.
			() => {
				if (this.#entries.get(file) === entry) this.#entries.delete(file);
			}
		);
		return entry.asset;
	}

	#remove(file: string): void {
		const entry = this.#entries.get(file);
		if (!entry) return;
		this.#entries.delete(file);
		this.#bytes -= entry.bytes;
	}

	#evict(): void {
		for (const file of this.#entries.keys()) {
			if (this.#bytes <= this.capacity) return;
			this.#remove(file);
		}
	}
}
