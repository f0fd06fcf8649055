/**
 * Whether this browser can open WebRTC data channels: every link between two devices and every
 * direct connection needs one. Some browsers are built without WebRTC (Debian's WebKitGTK has no
 * `RTCPeerConnection` at all); privacy settings and extensions switch it off, by removing the
 * constructor (Firefox's `media.peerconnection.enabled`) or by making it throw. Asked once, when
 * the app starts (../ui/app.svelte.ts); the screens read the answer from there.
 */

/** The part of a window this check reads; a parameter so that a test can hand in a fake one. */
export interface WebRtcScope {
	RTCPeerConnection?: unknown;
}

interface ProbeConnection {
	createDataChannel(label: string): unknown;
	close(): void;
}

export function canOpenDataChannels(scope: WebRtcScope = globalThis as WebRtcScope): boolean {
	const Connection = scope.RTCPeerConnection;
	if (typeof Connection !== 'function') return false;
	let probe: ProbeConnection | undefined;
	try {
		// No offer and no network: a connection made and closed, to see that it can be made.
		probe = new (Connection as new () => ProbeConnection)();
		probe.createDataChannel('probe');
		return true;
	} catch {
		// A constructor that throws, or a connection without data channels: WebRTC is switched off.
		return false;
	} finally {
		probe?.close();
	}
}
