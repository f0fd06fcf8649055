import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../signaling/log';
import { startSignalingServer, type SignalingServer } from '../../signaling/server';

// A made-up build: the test needs no `npm run build`.
const INDEX = `<!doctype html><html><head><title>Samen</title></head><body>${'<p>app shell</p>'.repeat(100)}</body></html>`;
const APP_JS = Array.from({ length: 400 }, (_, i) => `export const value${i} = 'line ${i}';`).join('\n');
const WORKER_JS = `self.addEventListener('fetch', () => {});\n${'// cache the shell\n'.repeat(100)}`;
const SMALL_CSS = 'body { margin: 0 }';
const PNG_BYTES = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 251));
/** A WebAssembly module's magic and version, then a body that compresses as a real module does. */
const WASM = Buffer.concat([Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]), Buffer.from('\x01\x07\x01\x60\x02\x7f\x7f\x01\x7f'.repeat(400))]);
const SECRET = 'outside the root';

let dir: string;
let root: string;
let server: SignalingServer;

function put(path: string, content: string | Buffer): void {
	mkdirSync(dirname(join(root, path)), { recursive: true });
	writeFileSync(join(root, path), content);
}

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'samen-static-'));
	root = join(dir, 'build.v1');
	writeFileSync(join(dir, 'secret.txt'), SECRET);
	put('index.html', INDEX);
	put('_app/immutable/entry/app.3f9a1c.js', APP_JS);
	put('service-worker.js', WORKER_JS);
	put('small.css', SMALL_CSS);
	put('icon.png', PNG_BYTES);
	put('_app/immutable/assets/zxing_reader.Bx2Y.wasm', WASM);
	server = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger, staticDir: root });
});

afterAll(async () => {
	await server?.close();
	rmSync(dir, { recursive: true, force: true });
});

interface Reply {
	status: number;
	headers: IncomingHttpHeaders;
	body: Buffer;
}

/** A raw request: no decompression, and the path goes out exactly as written (fetch would normalise `..`). */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
	return new Promise((resolve, reject) => {
		const request = httpRequest(`${server.url}${path}`, { method, headers }, (response) => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
			response.on('error', reject);
		});
		request.on('error', reject);
		request.end();
	});
}

describe('static files: compression', () => {
	it('prefers brotli, falls back to gzip, and both decode to the file', async () => {
		const br = await get('/service-worker.js', { 'accept-encoding': 'gzip, deflate, br, zstd' });
		expect(br.status).toBe(200);
		expect(br.headers['content-encoding']).toBe('br');
		expect(br.headers.vary).toBe('accept-encoding');
		expect(Number(br.headers['content-length'])).toBe(br.body.length);
		expect(br.body.length).toBeLessThan(WORKER_JS.length / 4);
		expect(brotliDecompressSync(br.body).toString()).toBe(WORKER_JS);

		const gz = await get('/service-worker.js', { 'accept-encoding': 'gzip' });
		expect(gz.headers['content-encoding']).toBe('gzip');
		expect(gunzipSync(gz.body).toString()).toBe(WORKER_JS);

		const refused = await get('/service-worker.js', { 'accept-encoding': 'br;q=0, gzip;q=0.5' });
		expect(refused.headers['content-encoding']).toBe('gzip');
		expect((await get('/service-worker.js', { 'accept-encoding': '*' })).headers['content-encoding']).toBe('br');
	});

	it('sends the file as it is when no encoding is accepted, and still says the response varies', async () => {
		for (const headers of [{}, { 'accept-encoding': 'identity' }, { 'accept-encoding': 'br;q=0, gzip;q=0' }] as Record<string, string>[]) {
			const plain = await get('/service-worker.js', headers);
			expect(plain.headers['content-encoding']).toBeUndefined();
			expect(plain.headers.vary).toBe('accept-encoding');
			expect(plain.body.toString()).toBe(WORKER_JS);
			expect(Number(plain.headers['content-length'])).toBe(WORKER_JS.length);
		}
	});

	it('sends small text files and images uncompressed, without Vary', async () => {
		const css = await get('/small.css', { 'accept-encoding': 'br, gzip' });
		expect(css.headers['content-encoding']).toBeUndefined();
		expect(css.headers.vary).toBeUndefined();
		expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
		expect(css.body.toString()).toBe(SMALL_CSS);
		const png = await get('/icon.png', { 'accept-encoding': 'br, gzip' });
		expect(png.headers['content-encoding']).toBeUndefined();
		expect(png.headers['content-type']).toBe('image/png');
		expect(png.body.equals(PNG_BYTES)).toBe(true);
	});

	it('sends WebAssembly as application/wasm (a browser compiles it while it downloads only then), compressed and immutable', async () => {
		const wasm = await get('/_app/immutable/assets/zxing_reader.Bx2Y.wasm', { 'accept-encoding': 'gzip, br' });
		expect(wasm.status).toBe(200);
		expect(wasm.headers['content-type']).toBe('application/wasm');
		expect(wasm.headers['content-encoding']).toBe('br');
		expect(wasm.headers['cache-control']).toBe('public, max-age=31536000, immutable');
		expect(brotliDecompressSync(wasm.body).equals(WASM)).toBe(true);
	});

	it('answers HEAD with the headers of GET and no body', async () => {
		const headers = { 'accept-encoding': 'br' };
		const full = await get('/service-worker.js', headers);
		const head = await get('/service-worker.js', headers, 'HEAD');
		expect(head.status).toBe(200);
		expect(head.body.length).toBe(0);
		for (const name of ['content-type', 'content-length', 'content-encoding', 'etag', 'last-modified', 'cache-control', 'vary']) {
			expect(head.headers[name], name).toBe(full.headers[name]);
		}
		expect((await get('/service-worker.js', {}, 'POST')).status).toBe(405);
	});
});

describe('static files: validators and caching', () => {
	it('gives each encoding its own strong ETag and answers a matching If-None-Match with 304', async () => {
		const br = await get('/service-worker.js', { 'accept-encoding': 'br' });
		const gz = await get('/service-worker.js', { 'accept-encoding': 'gzip' });
		const plain = await get('/service-worker.js');
		const tags = [br, gz, plain].map((reply) => reply.headers.etag);
		for (const tag of tags) expect(tag).toMatch(/^"[\w-]{16,}"$/);
		expect(new Set(tags).size).toBe(3);

		const again = await get('/service-worker.js', { 'accept-encoding': 'br', 'if-none-match': `"other", ${br.headers.etag}` });
		expect(again.status).toBe(304);
		expect(again.body.length).toBe(0);
		expect(again.headers.etag).toBe(br.headers.etag);
		expect(again.headers['cache-control']).toBe('no-cache');
		// The br tag names the br bytes: a client that now takes no encoding gets the file.
		expect((await get('/service-worker.js', { 'if-none-match': br.headers.etag! })).status).toBe(200);
		expect((await get('/service-worker.js', { 'if-none-match': `W/${plain.headers.etag}` })).status).toBe(304);
	});

	it('answers If-Modified-Since with 304 unless the file is newer, and lets If-None-Match decide when both come', async () => {
		const first = await get('/small.css');
		const lastModified = first.headers['last-modified']!;
		expect(Date.parse(lastModified)).not.toBeNaN();
		expect((await get('/small.css', { 'if-modified-since': lastModified })).status).toBe(304);
		expect((await get('/small.css', { 'if-modified-since': 'Thu, 01 Jan 1998 00:00:00 GMT' })).status).toBe(200);
		expect((await get('/small.css', { 'if-modified-since': 'not a date' })).status).toBe(200);
		expect((await get('/small.css', { 'if-modified-since': lastModified, 'if-none-match': '"stale"' })).status).toBe(200);
	});

	it('serves the new bytes and tag once a file changes', async () => {
		const before = await get('/_app/immutable/entry/app.3f9a1c.js', { 'accept-encoding': 'br' });
		const changed = `${APP_JS}\nexport const added = true;`;
		put('_app/immutable/entry/app.3f9a1c.js', changed);
		const later = new Date(Date.now() + 5_000);
		utimesSync(join(root, '_app/immutable/entry/app.3f9a1c.js'), later, later);
		const after = await get('/_app/immutable/entry/app.3f9a1c.js', { 'accept-encoding': 'br', 'if-none-match': before.headers.etag! });
		expect(after.status).toBe(200);
		expect(after.headers.etag).not.toBe(before.headers.etag);
		expect(brotliDecompressSync(after.body).toString()).toBe(changed);
	});

	it('caches /_app/immutable/ for a year and revalidates everything else', async () => {
		const immutable = await get('/_app/immutable/entry/app.3f9a1c.js');
		expect(immutable.headers['cache-control']).toBe('public, max-age=31536000, immutable');
		expect(immutable.headers['content-type']).toBe('text/javascript; charset=utf-8');
		for (const path of ['/', '/index.html', '/service-worker.js', '/small.css', '/icon.png', '/chat']) {
			const reply = await get(path);
			expect(reply.headers['cache-control'], path).toBe('no-cache');
			expect(reply.headers['x-content-type-options'], path).toBe('nosniff');
			expect(reply.headers['referrer-policy'], path).toBe('no-referrer');
		}
	});
});

describe('static files: which paths get what', () => {
	it('answers 404 for a missing file and the app page for a client route', async () => {
		for (const path of ['/favicon.ico', '/missing.js', '/_app/immutable/gone.css', '/_app/version.json']) {
			const reply = await get(path, { accept: 'text/html' });
			expect(reply.status, path).toBe(404);
			expect(reply.headers['content-type'], path).toBe('text/plain; charset=utf-8');
			expect(reply.body.toString(), path).not.toContain('app shell');
		}
		expect((await get('/missing.js', {}, 'HEAD')).body.length).toBe(0);
		for (const path of ['/', '/chat', '/settings/link', '/settings/link?code=abc', '/_app']) {
			const reply = await get(path, { 'accept-encoding': 'br' });
			expect(reply.status, path).toBe(200);
			expect(reply.headers['content-type'], path).toBe('text/html; charset=utf-8');
			expect(brotliDecompressSync(reply.body).toString(), path).toBe(INDEX);
		}
	});

	it('never serves a file outside the root', async () => {
		const attempts = [
			'/../secret.txt',
			'/../package.json',
			'/%2e%2e/secret.txt',
			'/%2e%2e%2fsecret.txt',
			'/..%2fsecret.txt',
			'/_app/..%2f..%2fsecret.txt',
			'/..%5csecret.txt'
		];
		for (const path of attempts) {
			const reply = await get(path);
			expect(reply.status, path).toBe(404);
			expect(reply.body.toString(), path).not.toContain(SECRET);
		}
		// Without an extension the path is a client route: the app page, not the file.
		expect((await get('/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd')).body.toString()).toBe(INDEX);
		expect((await get('/%00.js')).status).toBe(400);
		expect((await get('/%E0%A4%A')).status).toBe(400);
	});
});

describe('installability: the manifest and icons in static/', () => {
	const STATIC = new URL('../../static/', import.meta.url);

	/** Width and height from a PNG's IHDR chunk. */
	function pngSize(file: URL): string {
		const bytes = readFileSync(file);
		expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
		return `${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`;
	}

	it('lists 192 and 512 PNG icons, a maskable one and narrow and wide screenshots, each present at its declared size', () => {
		const manifest = JSON.parse(readFileSync(new URL('manifest.webmanifest', STATIC), 'utf8')) as {
			id: string;
			start_url: string;
			display: string;
			icons: { src: string; sizes: string; type: string; purpose?: string }[];
			screenshots: { src: string; sizes: string; type: string; form_factor: string }[];
		};
		expect(manifest).toMatchObject({ id: '/', start_url: '/', display: 'standalone' });
		const png = manifest.icons.filter((icon) => icon.type === 'image/png');
		const anyPurpose = (icon: { purpose?: string }) => (icon.purpose ?? 'any').split(/\s+/).includes('any');
		expect(png.filter(anyPurpose).map((icon) => icon.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
		expect(png.some((icon) => icon.purpose?.split(/\s+/).includes('maskable') && icon.sizes === '512x512')).toBe(true);
		expect(manifest.screenshots.map((shot) => shot.form_factor).sort()).toEqual(['narrow', 'wide']);
		for (const icon of [...manifest.icons, ...manifest.screenshots]) {
			const file = new URL(`.${icon.src}`, STATIC);
			expect(existsSync(file), icon.src).toBe(true);
			if (icon.type === 'image/png') expect(pngSize(file), icon.src).toBe(icon.sizes);
		}
	});

	it('has every icon that app.html links to', () => {
		const html = readFileSync(new URL('../../src/app.html', import.meta.url), 'utf8');
		const links = [...html.matchAll(/<link rel="(icon|apple-touch-icon)" href="([^"]+)"(?: sizes="(\d+x\d+)")?/g)];
		expect(links.map((link) => link[1])).toEqual(expect.arrayContaining(['icon', 'apple-touch-icon']));
		for (const [, rel, href, sizes] of links) {
			const file = new URL(`.${href}`, STATIC);
			expect(existsSync(file), href).toBe(true);
			if (rel === 'apple-touch-icon') expect(pngSize(file)).toBe('180x180');
			else if (sizes) expect(pngSize(file), href).toBe(sizes);
		}
	});
});
