/** The device platform in a browser: IndexedDB storage, WebRTC through this origin's signaling server. */
// simple-peer's own entry point needs Node's globals; its self-contained bundle does not (FIELD-NOTES).
import SimplePeer from 'simple-peer/simplepeer.min.js';
import * as idb from 'lib0/indexeddb';
import type { Platform } from '../session';
import { IndexedDbDocumentStore, IndexedDbKeyValueStore } from '../storage/indexeddb';
import { SignalingClient, signalingUrlFor } from '../transport/signaling-client';
import { CONNECT_TIMEOUT_MS, WebRtcTransport, type PeerFactory } from '../transport/webrtc';
import { canOpenDataChannels } from './webrtc';

export interface BrowserPlatform extends Platform {
	signaling: SignalingClient;
	/** False in a browser without WebRTC: no device can be linked or reached directly from it. */
	peerToPeer: boolean;
}

/** Asked once: whether WebRTC is there does not change while the page is open. */
export const peerToPeer = typeof window !== 'undefined' && canOpenDataChannels(window);
const createPeer: PeerFactory | undefined = peerToPeer ? (options) => new SimplePeer(options) : undefined;

let shared: SignalingClient | undefined;

/** Deletes every database, cache and service worker registration of this origin: a logged-out device keeps nothing. */
async function wipeBrowserStorage(): Promise<void> {
	const databases = (await indexedDB.databases?.()) ?? [];
	await Promise.all(databases.map((database) => (database.name ? idb.deleteDB(database.name) : undefined)));
	if ('caches' in globalThis) await Promise.all((await caches.keys()).map((name) => caches.delete(name)));
	const registrations = (await navigator.serviceWorker?.getRegistrations()) ?? [];
	await Promise.all(registrations.map((registration) => registration.unregister()));
}

export function browserPlatform(): BrowserPlatform {
	shared ??= new SignalingClient(signalingUrlFor(location.origin));
	const signaling = shared;
	return {
		signaling,
		peerToPeer,
		records: new IndexedDbKeyValueStore(),
		// Documents that y-indexeddb kept in a database per topic move into the one database on first start.
		documents: new IndexedDbDocumentStore('samen-documents', { legacyPrefix: 'samen-doc:' }),
		transport: (room, auth, mode) => new WebRtcTransport(room, signaling, createPeer, CONNECT_TIMEOUT_MS, auth, mode),
		clock: () => Date.now(),
		wipe: wipeBrowserStorage
	};
}
