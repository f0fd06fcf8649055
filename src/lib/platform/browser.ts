/** The device platform in a browser: IndexedDB storage, WebRTC through this origin's signaling server. */
// simple-peer's own entry point needs Node's globals; its self-contained bundle does not (FIELD-NOTES).
import SimplePeer from 'simple-peer/simplepeer.min.js';
import type { Platform } from '../device';
import { IndexedDbDocumentStore, IndexedDbKeyValueStore } from '../storage/indexeddb';
import { SignalingClient, signalingUrlFor } from '../transport/signaling-client';
import { WebRtcTransport, type PeerFactory } from '../transport/webrtc';

export interface BrowserPlatform extends Platform {
	signaling: SignalingClient;
}

const createPeer: PeerFactory = (options) => new SimplePeer(options);

let shared: SignalingClient | undefined;

export function browserPlatform(): BrowserPlatform {
	shared ??= new SignalingClient(signalingUrlFor(location.origin));
	const signaling = shared;
	return {
		signaling,
		records: new IndexedDbKeyValueStore(),
		documents: new IndexedDbDocumentStore(),
		transport: (room) => new WebRtcTransport(room, signaling, createPeer),
		clock: () => Date.now()
	};
}
