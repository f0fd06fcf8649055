import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import WebSocket from 'ws';
import type { Platform } from '../../src/lib/session';
import { MemoryDocumentStore, MemoryKeyValueStore } from '../../src/lib/storage/memory';
import { SignalingClient, signalingUrlFor, type WebSocketLike } from '../../src/lib/transport/signaling-client';
import { CONNECT_TIMEOUT_MS, WebRtcTransport, type PeerFactory } from '../../src/lib/transport/webrtc';
import type { DocumentStore, KeyValueStore } from '../../src/lib/storage/types';

export const nodePeer: PeerFactory = (options) => new SimplePeer({ ...options, wrtc });

export function nodeSignaling(serverUrl: string): SignalingClient {
	return new SignalingClient(signalingUrlFor(serverUrl), (url) => new WebSocket(url) as unknown as WebSocketLike);
}

/** A device platform in Node with real WebRTC to the given signaling server. */
export function webRtcPlatform(
	serverUrl: string,
	stores: { records?: KeyValueStore; documents?: DocumentStore } = {}
): Platform & { signaling: SignalingClient } {
	const signaling = nodeSignaling(serverUrl);
	return {
		signaling,
		records: stores.records ?? new MemoryKeyValueStore(),
		documents: stores.documents ?? new MemoryDocumentStore(),
		transport: (room, auth, mode) => new WebRtcTransport(room, signaling, nodePeer, CONNECT_TIMEOUT_MS, auth, mode),
		clock: () => Date.now()
	};
}
