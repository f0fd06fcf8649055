/** Serves the built app. Unknown paths get the app shell, since routing happens in the browser. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

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
	'.woff2': 'font/woff2'
};

export function staticFiles(root: string) {
	const base = resolve(root);
	return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
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
		const candidate = resolve(base, '.' + normalize(sep + pathname));
		if (candidate !== base && !candidate.startsWith(base + sep)) {
			response.writeHead(404).end();
			return;
		}
		const file = (await isFile(candidate)) ? candidate : join(base, 'index.html');
		if (!(await isFile(file))) {
			response.writeHead(503, { 'content-type': 'text/plain' }).end('The app is not built yet: run npm run build.');
			return;
		}
		const immutable = file.includes(`${sep}_app${sep}immutable${sep}`);
		response.writeHead(200, {
			'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
			'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
			'x-content-type-options': 'nosniff',
			'referrer-policy': 'no-referrer'
		});
		if (request.method === 'HEAD') response.end();
		else createReadStream(file).pipe(response);
	};
}

async function isFile(path: string): Promise<boolean> {
	try {
		return (await stat(path)).isFile();
	} catch {
		return false;
	}
}
