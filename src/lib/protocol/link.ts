/**
 * Linking a new device (N) to an account through its primary (P), by QR code or pasted link.
 *
 * N makes a one-time invitation and shows it as a QR code and as a link:
 *   payload = "samen2." + base64url( version = 2 ‖ room: 16 ‖ publicKeyN: 32 ‖ secret: 16 ‖ expiresAt: u32 seconds, big-endian )
 *   link    = <origin>/settings/link#<payload>     (the fragment never reaches a server; opening it starts nothing)
 * N waits in the rendezvous room hex(room). P's user scans or pastes it into Settings → Link a device;
 * P joins the room with a fresh X25519 key pair. Over the data channel:
 *
 *   P → N  OFFER    [0x01][publicKeyP: 32][tag("samen/v2/link-offer")]
 *   P → N  FULL     [0x07][publicKeyP: 32][tag("samen/v2/link-full")]      the account has 4 linked devices: nothing is sent
 *   N → P  REFUSED  [0x06][publicKeyP: 32][tag("samen/v2/link-refused")]   to any offer after the first: the invitation works once
 *   N → P  REQUEST  [0x02][seal(K, [signKey: 32][agreeKey: 32][kind: u8][name: varstring ≤ 64])]
 *   N → P  CONFIRM  [0x08][seal(K, empty)]         N's user saw the same code
 *   P → N  BUNDLE   [0x03][seal(K, [accountName: varstring ≤ 64][device list: varbytes][heartbeat: varbytes])]
 *                                                   only after P's user confirmed and N's CONFIRM arrived
 *   P ↔ N  DECLINE  [0x04][seal(K, [reason: u8])]  declined, too-many-devices or expired, from either side
 *   N → P  DONE     [0x05][seal(K, empty)]
 *
 *   tag(label) = HMAC-SHA256(secret, label ‖ publicKeyP ‖ publicKeyN)   proves knowledge of the QR secret
 *   shared = X25519(own secret key, other side's public key)
 *   salt   = secret ‖ publicKeyN ‖ publicKeyP
 *   K      = HKDF(shared, "samen/v2/link-channel", salt)
 *   code   = HKDF(shared, "samen/v2/link-code", salt, 4 bytes), big-endian, mod 1,000,000, six digits
 * Sealed messages carry their type byte as associated data. Every reader checks type, length and
 * content before use and throws LinkError('tampered') for anything else.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { concatBytes, constantTimeEqual, deriveKey, fromBase64Url, KEY_BYTES, mac, open, seal, toBase64Url } from '../crypto';
import { MAX_DEVICE_LIST_BYTES, MAX_DEVICE_NAME_LENGTH, MAX_HEARTBEAT_BYTES, type DeviceKind } from './trust';

export const LINK_TTL_MS = 2 * 60 * 1000;
const PAYLOAD_PREFIX = 'samen2.';
const PAYLOAD_VERSION = 2;
const PAYLOAD_BYTES = 1 + 16 + 32 + 16 + 4;
const TAG_BYTES = 32;

export const LINK_OFFER = 1;
export const LINK_REQUEST = 2;
export const LINK_BUNDLE = 3;
export const LINK_DECLINE = 4;
export const LINK_DONE = 5;
export const LINK_REFUSED = 6;
export const LINK_FULL = 7;
export const LINK_CONFIRM = 8;

export type LinkErrorCode =
	| 'not-ours'
	| 'expired'
	| 'unanswered'
	| 'used'
	| 'declined'
	| 'too-many-devices'
	| 'not-primary'
	| 'tampered'
	| 'disconnected';

export class LinkError extends Error {
	constructor(readonly code: LinkErrorCode) {
		super(`link failed: ${code}`);
		this.name = 'LinkError';
	}
}

export interface LinkPayload {
	room: Uint8Array;
	publicKey: Uint8Array;
	secret: Uint8Array;
	/** Milliseconds since the epoch, rounded down to a second. */
	expiresAt: number;
}

export function encodeLinkPayload(payload: LinkPayload): string {
	const bytes = new Uint8Array(PAYLOAD_BYTES);
	bytes[0] = PAYLOAD_VERSION;
	bytes.set(payload.room, 1);
	bytes.set(payload.publicKey, 17);
	bytes.set(payload.secret, 49);
	new DataView(bytes.buffer).setUint32(65, Math.floor(payload.expiresAt / 1000));
	return PAYLOAD_PREFIX + toBase64Url(bytes);
}

/** Accepts the payload itself or any link that carries it after '#'. Throws LinkError('not-ours'). */
export function decodeLinkPayload(text: string): LinkPayload {
	const trimmed = text.trim();
	const encoded = trimmed.slice(trimmed.lastIndexOf('#') + 1);
	if (!encoded.startsWith(PAYLOAD_PREFIX)) throw new LinkError('not-ours');
	let bytes: Uint8Array;
	try {
		bytes = fromBase64Url(encoded.slice(PAYLOAD_PREFIX.length));
	} catch {
		throw new LinkError('not-ours');
	}
	if (bytes.length !== PAYLOAD_BYTES || bytes[0] !== PAYLOAD_VERSION) throw new LinkError('not-ours');
	return {
		room: bytes.slice(1, 17),
		publicKey: bytes.slice(17, 49),
		secret: bytes.slice(49, 65),
		expiresAt: new DataView(bytes.buffer, bytes.byteOffset).getUint32(65) * 1000
	};
}

export function linkUrl(origin: string, payload: string): string {
	return `${origin}/settings/link#${payload}`;
}

/** Whether a URL fragment carries a link payload (opened as a link, not scanned or pasted). */
export function carriesLinkPayload(fragment: string): boolean {
	return fragment.replace(/^#/, '').startsWith(PAYLOAD_PREFIX);
}

export interface LinkChannel {
	key: Uint8Array;
	code: string;
}

export function deriveLinkChannel(shared: Uint8Array, secret: Uint8Array, publicKeyN: Uint8Array, publicKeyP: Uint8Array): LinkChannel {
	const salt = concatBytes(secret, publicKeyN, publicKeyP);
	const key = deriveKey(shared, 'samen/v2/link-channel', salt);
	const codeBytes = deriveKey(shared, 'samen/v2/link-code', salt, 4);
	const number = new DataView(codeBytes.buffer, codeBytes.byteOffset).getUint32(0) % 1_000_000;
	return { key, code: String(number).padStart(6, '0') };
}

const TAG_LABELS: Record<number, string> = {
	[LINK_OFFER]: 'samen/v2/link-offer',
	[LINK_FULL]: 'samen/v2/link-full',
	[LINK_REFUSED]: 'samen/v2/link-refused'
};

function tag(type: number, secret: Uint8Array, publicKeyP: Uint8Array, publicKeyN: Uint8Array): Uint8Array {
	return mac(secret, new TextEncoder().encode(TAG_LABELS[type]!), publicKeyP, publicKeyN);
}

/** OFFER, FULL or REFUSED: [type][publicKeyP][tag]. */
export function writeTagged(type: typeof LINK_OFFER | typeof LINK_FULL | typeof LINK_REFUSED, secret: Uint8Array, publicKeyP: Uint8Array, publicKeyN: Uint8Array): Uint8Array {
	return concatBytes(new Uint8Array([type]), publicKeyP, tag(type, secret, publicKeyP, publicKeyN));
}

/** The publicKeyP of a tagged message whose tag proves the QR secret; undefined for anything else. */
export function readTagged(data: Uint8Array, type: number, secret: Uint8Array, publicKeyN: Uint8Array): Uint8Array | undefined {
	if (data.length !== 1 + KEY_BYTES + TAG_BYTES || data[0] !== type || !TAG_LABELS[type]) return undefined;
	const publicKeyP = data.slice(1, 1 + KEY_BYTES);
	return constantTimeEqual(data.subarray(1 + KEY_BYTES), tag(type, secret, publicKeyP, publicKeyN)) ? publicKeyP : undefined;
}

function sealed(type: number, key: Uint8Array, body: Uint8Array): Uint8Array {
	const typeByte = new Uint8Array([type]);
	return concatBytes(typeByte, seal(key, body, typeByte));
}

/** Opens a sealed link message of `type`; throws LinkError('tampered'). */
function opened(data: Uint8Array, type: number, key: Uint8Array): decoding.Decoder {
	if (data[0] !== type) throw new LinkError('tampered');
	try {
		return decoding.createDecoder(open(key, data.subarray(1), data.subarray(0, 1)));
	} catch {
		throw new LinkError('tampered');
	}
}

function readChecked<T>(read: () => T): T {
	try {
		return read();
	} catch (error) {
		if (error instanceof LinkError) throw error;
		throw new LinkError('tampered');
	}
}

export interface LinkRequest {
	signKey: Uint8Array;
	agreeKey: Uint8Array;
	kind: DeviceKind;
	name: string;
}

const KINDS: DeviceKind[] = ['phone', 'tablet', 'computer'];

export function writeRequest(key: Uint8Array, request: LinkRequest): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeUint8Array(encoder, request.signKey);
	encoding.writeUint8Array(encoder, request.agreeKey);
	encoding.writeUint8(encoder, KINDS.indexOf(request.kind));
	encoding.writeVarString(encoder, request.name.slice(0, MAX_DEVICE_NAME_LENGTH));
	return sealed(LINK_REQUEST, key, encoding.toUint8Array(encoder));
}

export function readRequest(key: Uint8Array, data: Uint8Array): LinkRequest {
	const decoder = opened(data, LINK_REQUEST, key);
	return readChecked(() => {
		const signKey = decoding.readUint8Array(decoder, KEY_BYTES).slice();
		const agreeKey = decoding.readUint8Array(decoder, KEY_BYTES).slice();
		const kind = KINDS[decoding.readUint8(decoder)];
		const name = decoding.readVarString(decoder).trim();
		if (!kind || name.length === 0 || name.length > MAX_DEVICE_NAME_LENGTH || decoding.hasContent(decoder)) throw new LinkError('tampered');
		return { signKey, agreeKey, kind, name };
	});
}

export interface LinkBundle {
	accountName: string;
	deviceList: Uint8Array;
	heartbeat: Uint8Array;
}

export function writeBundle(key: Uint8Array, bundle: LinkBundle): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarString(encoder, bundle.accountName.slice(0, MAX_DEVICE_NAME_LENGTH));
	encoding.writeVarUint8Array(encoder, bundle.deviceList);
	encoding.writeVarUint8Array(encoder, bundle.heartbeat);
	return sealed(LINK_BUNDLE, key, encoding.toUint8Array(encoder));
}

export function readBundle(key: Uint8Array, data: Uint8Array): LinkBundle {
	const decoder = opened(data, LINK_BUNDLE, key);
	return readChecked(() => {
		const accountName = decoding.readVarString(decoder);
		const deviceList = decoding.readVarUint8Array(decoder).slice();
		const heartbeat = decoding.readVarUint8Array(decoder).slice();
		if (accountName.length > MAX_DEVICE_NAME_LENGTH || deviceList.length > MAX_DEVICE_LIST_BYTES || heartbeat.length > MAX_HEARTBEAT_BYTES || decoding.hasContent(decoder)) {
			throw new LinkError('tampered');
		}
		return { accountName, deviceList, heartbeat };
	});
}

export type DeclineReason = 'declined' | 'too-many-devices' | 'expired';
const DECLINE_REASONS: DeclineReason[] = ['declined', 'too-many-devices', 'expired'];

export function writeDecline(key: Uint8Array, reason: DeclineReason): Uint8Array {
	return sealed(LINK_DECLINE, key, new Uint8Array([DECLINE_REASONS.indexOf(reason)]));
}

export function readDecline(key: Uint8Array, data: Uint8Array): DeclineReason {
	const decoder = opened(data, LINK_DECLINE, key);
	return readChecked(() => {
		const reason = DECLINE_REASONS[decoding.readUint8(decoder)];
		if (!reason || decoding.hasContent(decoder)) throw new LinkError('tampered');
		return reason;
	});
}

/** CONFIRM and DONE carry nothing but their seal. */
export function writeSignal(type: typeof LINK_CONFIRM | typeof LINK_DONE, key: Uint8Array): Uint8Array {
	return sealed(type, key, new Uint8Array(0));
}

export function readSignal(type: typeof LINK_CONFIRM | typeof LINK_DONE, key: Uint8Array, data: Uint8Array): void {
	if (decoding.hasContent(opened(data, type, key))) throw new LinkError('tampered');
}
