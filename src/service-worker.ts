/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
// Keeps the app shell on the device so Samen opens without a network; data lives in IndexedDB.
import { build, files, version } from '$service-worker';

const worker = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `samen-shell-${version}`;
const SHELL = [...build, ...files, '/'];

worker.addEventListener('install', (event) => {
	event.waitUntil(
		caches
			.open(CACHE)
			.then((cache) => cache.addAll(SHELL))
			.then(() => worker.skipWaiting())
	);
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
			if (build.includes(url.pathname) || files.includes(url.pathname)) {
				const cached = await cache.match(url.pathname);
				if (cached) return cached;
			}
			try {
				return await fetch(request);
			} catch (error) {
				// Offline: any page is the app shell, which routes in the browser.
				const shell = request.mode === 'navigate' ? await cache.match('/') : undefined;
				if (shell) return shell;
				throw error;
			}
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
