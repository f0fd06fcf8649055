/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * Keeps the app shell on the device so Samen opens without a network; data lives in IndexedDB.
 *
 * One version at a time: every build has a worker of its own (`version`) and a cache of its own. A
 * page is served the shell and the files of the worker that controls it, even after the server has a
 * newer build. A new worker installs beside the old one and then waits: the page offers *Update*
 * (`watchForUpdates` in ../lib/ui/app.svelte.ts), which sends `skip-waiting`; only then does the new worker take over,
 * drop the old cache, and the page reloads into the new version. The first worker, with no page to
 * disturb, takes over at once.
 */
import { build, files, version } from '$service-worker';

const worker = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `samen-shell-${version}`;
// The manifest's screenshots are for the install dialogue, not for the app: not kept on the device.
const SHELL = [...build, ...files.filter((path) => !path.startsWith('/screenshots/')), '/'];

worker.addEventListener('install', (event) => {
	event.waitUntil(
		caches
			.open(CACHE)
			// What the page has loaded comes from the HTTP cache: hashed files are immutable, and the server
			// asks for the others (index.html, the manifest, icons) to be revalidated on every use.
			.then((cache) => cache.addAll(SHELL))
	);
});

// The page's *Update* (`applyUpdate` in ../lib/ui/app.svelte.ts): this waiting worker takes over.
worker.addEventListener('message', (event) => {
	// Kept alive until the browser has taken the request, so an idle worker is not stopped half-way.
	if (event.data === 'skip-waiting') event.waitUntil(worker.skipWaiting());
});

worker.addEventListener('activate', (event) => {
	event.waitUntil(
		caches
			.keys()
			.then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
			.then(() => worker.clients.claim())
	);
});

worker.addEventListener('fetch', (event) => {
	const request = event.request;
	const url = new URL(request.url);
	if (request.method !== 'GET' || url.origin !== location.origin || url.pathname === '/signal') return;
	event.respondWith(
		(async () => {
			const cache = await caches.open(CACHE);
			// Every page is the app shell, which routes in the browser: this version's, from the cache, so
			// that it asks for files this cache holds (and opens with no network at all).
			const shellPage = request.mode === 'navigate' && !/\.[^/]*$/.test(url.pathname);
			if (shellPage || build.includes(url.pathname) || files.includes(url.pathname)) {
				const cached = await cache.match(shellPage ? '/' : url.pathname);
				if (cached) return cached;
			}
			return fetch(request);
		})()
	);
});

// A notification shown through the worker (Chrome on Android) opens its chat in Samen's window, or in a new one.
worker.addEventListener('notificationclick', (event) => {
	event.notification.close();
	const chatId = (event.notification.data as { chatId?: unknown } | null)?.chatId;
	const url = typeof chatId === 'string' ? `/chat?id=${encodeURIComponent(chatId)}` : '/';
	event.waitUntil(
		worker.clients.matchAll({ type: 'window' }).then((windows) => {
			const open = windows[0];
			return open ? open.navigate(url).then((client) => client?.focus()) : worker.clients.openWindow(url);
		})
	);
});
