/**
 * Signaling protocol: JSON text frames over one WebSocket (path /signal) between a device and the
 * signaling server. The server only introduces peers of a room and forwards WebRTC signals; a room
 * id is an opaque string derived on the devices, and a peer id is random per connection.
 *
 *   server → client  {"type":"welcome","self":P,"iceServers":[…],"iceTransportPolicy":"all"|"relay"}
 *                                                                        on connect; STUN/TURN to use, and whether
 *                                                                        to connect through TURN only
 *   client → server  {"type":"join","room":R}                            or {"type":"join","room":R,"key":K}
 *                                                                        or {"type":"join","room":R,"key":K,"mailboxOnly":true}
 *   server → client  {"type":"joined","room":R,"peers":[P…]}            who was there before you
 *   server → others  {"type":"peer-joined","room":R,"peer":P}
 *   client → server  {"type":"signal","room":R,"to":P,"data":D}         D: an SDP offer/answer or ICE candidate
 *   server → P       {"type":"signal","room":R,"from":P,"data":D}
 *   client → server  {"type":"leave","room":R}
 *   server → others  {"type":"peer-left","room":R,"peer":P}              also when a socket closes
 *   server → client  {"type":"error","code":C,"message":M}              a signal to a peer that has gone,
 *                                                                        a deposit the mailbox cannot take,
 *                                                                        a mailbox operation without the key
 *
 * The blind mailbox holds sealed frames for a room until a device of the room takes them:
 *   client → server  {"type":"deposit","room":R,"id":I,"data":B,"sig":G}   B: base64url ciphertext
 *   server → client  {"type":"deposited","room":R,"id":I}               the deposit is stored; a refused one gets
 *                                                                        {"type":"error","code":"mailbox-full","message":M,"id":I}
 *   server → client  {"type":"mailbox","room":R,"items":[{"id":I,"data":B}…]}   after "joined", in pages
 *   server → client  {"type":"mailbox-end","room":R}                    after the last page (also when there is none)
 *   client → server  {"type":"take","room":R,"ids":[I…],"sig":G}         deletes what the device has applied
 *
 * The room is a capability. An account room's id is the hash of an Ed25519 public key K that only
 * devices holding the epoch's secret can derive (../identity/epochs.ts): R = roomIdForKey(K) =
 * hex of the first 16 bytes of SHA-256("samen/v1/room-id" ‖ K). A device joins with K (base64url,
 * 32 bytes); the server keeps K for that connection's membership when it hashes to R, and closes
 * the socket with 4400 ("malformed") when it does not: no honest client sends such a join.
 * Every deposit and take carries G, an Ed25519 signature by K's secret half under the purpose
 * MAILBOX_OP_PURPOSE (../crypto sign: purpose ‖ 0x00 ‖ message) over mailboxOpMessage():
 *   deposit  "deposit\n" S "\n" R "\n" I "\n" ‖ SHA-256(B as ASCII)
 *   take     "take\n" S "\n" R "\n" I1 "\n" … In "\n"
 * where S is the connection's own peer id (welcome.self), so that a signature made for one socket
 * is worth nothing on another, and for no other room, operation, id or data. The server checks G
 * against the K given at join; a deposit or take from a member that joined without K, without G,
 * or with a G that does not verify changes nothing and is answered with
 *   server → client  {"type":"error","code":"forbidden","message":M,"id":I}   (no "id" for a take)
 * Joining without a key stays allowed (the link handshake meets in random rooms with no mailbox):
 * such a member signals and is handed the room's sealed items, but can neither deposit nor take.
 * A join with "mailboxOnly" (only with K) is for a device catching up on a room it no longer meets
 * in (an earlier day's, ../identity/epochs.ts): the server introduces it to no one and no one to it
 * ("joined" lists no peers, no "peer-joined" or "peer-left" is sent for it), and hands out the
 * mailbox as to any member.
 *
 * A deposit carries between MIN_MAILBOX_ITEM_BYTES (a sealed empty value) and MAX_MAILBOX_ITEM_BYTES
 * of sealed data; anything else is malformed, as is a key that is not 32 bytes or a signature that
 * is not 64. The server bounds what it keeps (per room: bytes and items; per server: bytes) and
 * answers a deposit past a bound with the error "mailbox-full". It hands a room's items out with
 * mailboxPages(), in frames of at most MAILBOX_PAGE_BYTES of JSON text, half of what a client
 * parses, however many and however small the items; a client takes with takeFrames(), at most
 * TAKE_IDS_PER_FRAME ids a frame, each signed.
 *
 * Frames the server will not take close the socket with a code and a reason (CLOSE_CODES); the
 * client reconnects with backoff. A server going down for a restart closes with 1012. So that no
 * honest client is closed, writeClientFrame refuses what parseClientFrame would; frame limits count
 * bytes of UTF-8, as the WebSocket carries them.
 *
 * The newcomer of a room starts the WebRTC offer to each peer it finds there, so two peers never
 * offer to each other at once.
 */
import { concatBytes, fromBase64Url, hash, sign, signingKeyPairFromSeed, toBase64Url, toHex, verify } from '../crypto';
import type { RoomAuth } from './types';

export const SIGNALING_PATH = '/signal';
/** The largest sealed frame one deposit may carry, before base64url. */
export const MAX_MAILBOX_ITEM_BYTES = 32 * 1024;
/** The smallest: a sealed empty value, 24-byte nonce and 16-byte tag (../crypto). */
export const MIN_MAILBOX_ITEM_BYTES = 24 + 16;
const ITEM_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;
/** A room's Ed25519 public key: 32 bytes as base64url. */
const ROOM_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** An Ed25519 signature: 64 bytes as base64url. */
const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{86}$/;
/** Labels the room key's signatures: it signs mailbox operations and nothing else. */
export const MAILBOX_OP_PURPOSE = 'samen/v1/mailbox-op';
const ROOM_ID_LABEL = 'samen/v1/room-id';
/** The largest frame either side parses; a server may set a lower limit. */
export const MAX_SIGNALING_FRAME_BYTES = 256 * 1024;
/**
 * The largest `mailbox` frame the server sends, as JSON text (all ASCII, so characters are bytes):
 * half of what a client parses, so that no count or size of items can make a page a client drops.
 */
export const MAILBOX_PAGE_BYTES = MAX_SIGNALING_FRAME_BYTES / 2;
/** The most ids one `take` frame may carry. */
export const MAX_TAKE_IDS = 1000;
/**
 * The most ids a client puts in one `take` frame: 500 ids of at most 64 characters make under
 * 34 KB of JSON, within the server's default 64 KiB frame limit (MAX_TAKE_IDS would not be).
 */
export const TAKE_IDS_PER_FRAME = 500;

export const CLOSE_CODES = {
	/** RFC 6455: a frame over the server's size limit. */
	tooLarge: 1009,
	/** RFC 6455: the server is restarting; reconnect. */
	restarting: 1012,
	malformed: 4400,
	tooManyRooms: 4413,
	tooFast: 4429,
	tooManyConnections: 4430
} as const;

/** 'relay': connect only through TURN, so that peers never see each other's addresses. */
export type IceTransportPolicy = 'all' | 'relay';

/** A STUN or TURN server, as RTCPeerConnection takes it. */
export interface IceServer {
	urls: string | string[];
	username?: string;
	credential?: string;
}
const ROOM_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
const PEER_PATTERN = /^[a-f0-9]{16}$/;

/** What a WebRTC stack hands to the other side: SDP and ICE candidates, as plain JSON. */
export type SignalData = Record<string, unknown>;

export interface MailboxItem {
	id: string;
	/** base64url of the sealed bytes */
	data: string;
}

export type ClientFrame =
	| { type: 'join'; room: string; key?: string; mailboxOnly?: true }
	| { type: 'leave'; room: string }
	| { type: 'signal'; room: string; to: string; data: SignalData }
	| { type: 'deposit'; room: string; id: string; data: string; sig?: string }
	| { type: 'take'; room: string; ids: string[]; sig?: string };

/** A deposit or a take: the operations the room key signs. */
export type MailboxOp = Extract<ClientFrame, { type: 'deposit' | 'take' }>;

export type ServerFrame =
	| { type: 'welcome'; self: string; iceServers: IceServer[]; iceTransportPolicy?: IceTransportPolicy }
	| { type: 'joined'; room: string; peers: string[] }
	| { type: 'peer-joined'; room: string; peer: string }
	| { type: 'peer-left'; room: string; peer: string }
	| { type: 'signal'; room: string; from: string; data: SignalData }
	| { type: 'mailbox'; room: string; items: MailboxItem[] }
	| { type: 'mailbox-end'; room: string }
	| { type: 'deposited'; room: string; id: string }
	| { type: 'error'; code: SignalingErrorCode; message: string; id?: string };

export type SignalingErrorCode = 'malformed' | 'too-large' | 'not-in-room' | 'mailbox-full' | 'forbidden';

const ascii = new TextEncoder();

/** The account room id that belongs to a room public key: hex of the first 16 bytes of SHA-256("samen/v1/room-id" ‖ key). */
export function roomIdForKey(publicKey: Uint8Array): string {
	return toHex(hash(ascii.encode(ROOM_ID_LABEL), publicKey).subarray(0, 16));
}

/** The room's auth from its 32-byte key seed: the public key, and a signer bound to MAILBOX_OP_PURPOSE. */
export function roomAuthFromSeed(seed: Uint8Array): RoomAuth {
	const { publicKey, secretKey } = signingKeyPairFromSeed(seed);
	return { publicKey, sign: (message) => sign(secretKey, MAILBOX_OP_PURPOSE, message) };
}

/**
 * What the room key signs for `op` sent over the connection whose peer id is `self`. Every field is
 * drawn from [A-Za-z0-9_-] (ids, rooms) or hex (peer ids), so newlines separate them unambiguously.
 */
export function mailboxOpMessage(self: string, op: MailboxOp): Uint8Array {
	if (op.type === 'deposit') {
		return concatBytes(ascii.encode(`deposit\n${self}\n${op.room}\n${op.id}\n`), hash(ascii.encode(op.data)));
	}
	return ascii.encode(['take', self, op.room, ...op.ids].map((field) => `${field}\n`).join(''));
}

/** `op` with its signature, for the connection whose peer id is `self`. */
export function signMailboxOp<T extends MailboxOp>(auth: RoomAuth, self: string, op: T): T & { sig: string } {
	return { ...op, sig: toBase64Url(auth.sign(mailboxOpMessage(self, op))) };
}

/** Whether `op`, as sent over the connection `self`, carries a signature by the room key `publicKey`. */
export function verifyMailboxOp(publicKey: Uint8Array, self: string, op: MailboxOp): boolean {
	if (op.sig === undefined) return false;
	return verify(publicKey, MAILBOX_OP_PURPOSE, mailboxOpMessage(self, op), fromBase64Url(op.sig));
}

export function isMailboxItem(value: unknown): value is MailboxItem {
	const item = value as MailboxItem;
	return (
		typeof item === 'object' &&
		item !== null &&
		typeof item.id === 'string' &&
		ITEM_ID_PATTERN.test(item.id) &&
		typeof item.data === 'string' &&
		BASE64URL_PATTERN.test(item.data) &&
		item.data.length <= Math.ceil((MAX_MAILBOX_ITEM_BYTES * 4) / 3)
	);
}

/** How many bytes base64url text of this length decodes to; -1 for a length no base64url text has. */
export function base64UrlDecodedLength(length: number): number {
	return length % 4 === 1 ? -1 : Math.floor((length * 3) / 4);
}

/** Header of a `mailbox` frame for `room` without its items: `{"type":"mailbox","room":R,"items":[]}`. */
function mailboxFrameBytes(room: string): number {
	return JSON.stringify({ type: 'mailbox', room, items: [] }).length;
}

/**
 * A room's items, in order, as `mailbox` frames of at most `maxBytes` of JSON text each (counting
 * ids, data, quotes and commas). An item too large for a page of its own still goes alone in one;
 * deposits are bounded far below MAILBOX_PAGE_BYTES, so with the default that never happens.
 */
export function mailboxPages(room: string, items: Iterable<MailboxItem>, maxBytes = MAILBOX_PAGE_BYTES): ServerFrame[] {
	const empty = mailboxFrameBytes(room);
	const pages: ServerFrame[] = [];
	let page: MailboxItem[] = [];
	let bytes = empty;
	for (const { id, data } of items) {
		const item = { id, data };
		// The item as JSON, and the comma before it unless it starts the page.
		const itemBytes = JSON.stringify(item).length;
		if (page.length > 0 && bytes + 1 + itemBytes > maxBytes) {
			pages.push({ type: 'mailbox', room, items: page });
			page = [];
			bytes = empty;
		}
		bytes += (page.length > 0 ? 1 : 0) + itemBytes;
		page.push(item);
	}
	if (page.length > 0) pages.push({ type: 'mailbox', room, items: page });
	return pages;
}

/** `take` frames for `ids`, at most `perFrame` ids each. */
export function takeFrames(room: string, ids: readonly string[], perFrame = TAKE_IDS_PER_FRAME): ClientFrame[] {
	const frames: ClientFrame[] = [];
	for (let start = 0; start < ids.length; start += perFrame) frames.push({ type: 'take', room, ids: ids.slice(start, start + perFrame) });
	return frames;
}

export class SignalingFrameError extends Error {
	constructor(
		readonly code: SignalingErrorCode,
		message: string
	) {
		super(message);
		this.name = 'SignalingFrameError';
	}
}

export function isRoomId(value: unknown): value is string {
	return typeof value === 'string' && ROOM_PATTERN.test(value);
}

export function isPeerId(value: unknown): value is string {
	return typeof value === 'string' && PEER_PATTERN.test(value);
}

export function isIceServer(value: unknown): value is IceServer {
	const server = value as IceServer;
	return (
		typeof server === 'object' &&
		server !== null &&
		(typeof server.urls === 'string' || (Array.isArray(server.urls) && server.urls.every((url) => typeof url === 'string'))) &&
		(server.username === undefined || typeof server.username === 'string') &&
		(server.credential === undefined || typeof server.credential === 'string')
	);
}

function isSignalData(value: unknown): value is SignalData {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The largest frame a client writes: the server's default limit (MAX_FRAME_BYTES). */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

/**
 * A client frame's text. Throws SignalingFrameError('malformed') for a frame parseClientFrame refuses
 * (the server would close the socket), and ('too-large') past what a server takes by default.
 */
export function writeClientFrame(frame: ClientFrame): string {
	readClientFrame(frame as unknown as Record<string, unknown>);
	const text = JSON.stringify(frame);
	if (overLimit(text, MAX_CLIENT_FRAME_BYTES)) throw new SignalingFrameError('too-large', 'frame too large');
	return text;
}

/** A server frame's text; throws SignalingFrameError('too-large') past what a client parses. */
export function writeServerFrame(frame: ServerFrame): string {
	const text = JSON.stringify(frame);
	if (overLimit(text, MAX_SIGNALING_FRAME_BYTES)) throw new SignalingFrameError('too-large', 'frame too large');
	return text;
}

/**
 * Whether `text` takes more than `limit` bytes as UTF-8, as a WebSocket carries it and the server's
 * limit counts it. A UTF-16 unit takes 1 to 3 bytes (a lone surrogate 3, as the U+FFFD that
 * replaces it), so only text between a third of the limit and the limit is encoded to tell.
 */
function overLimit(text: string, limit: number): boolean {
	return text.length > limit || (text.length * 3 > limit && new TextEncoder().encode(text).byteLength > limit);
}

function parseObject(text: string): Record<string, unknown> {
	if (overLimit(text, MAX_SIGNALING_FRAME_BYTES)) throw new SignalingFrameError('too-large', 'frame too large');
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		throw new SignalingFrameError('malformed', 'not JSON');
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new SignalingFrameError('malformed', 'not an object');
	}
	return value as Record<string, unknown>;
}

/** A mailbox operation's `sig` field: absent (refused later as forbidden), or 64 bytes of base64url. */
function signature(sig: unknown): { sig?: string } {
	if (sig === undefined) return {};
	if (typeof sig !== 'string' || !SIGNATURE_PATTERN.test(sig)) throw new SignalingFrameError('malformed', 'bad signature');
	return { sig };
}

export function parseClientFrame(text: string): ClientFrame {
	return readClientFrame(parseObject(text));
}

/** The frame a server takes from `frame`; throws SignalingFrameError('malformed') for anything else. */
function readClientFrame(frame: Record<string, unknown>): ClientFrame {
	if (!isRoomId(frame.room)) throw new SignalingFrameError('malformed', 'bad room id');
	switch (frame.type) {
		case 'join':
			if (frame.key === undefined) {
				if (frame.mailboxOnly !== undefined) throw new SignalingFrameError('malformed', 'a mailbox-only join needs the room key');
				return { type: 'join', room: frame.room };
			}
			if (typeof frame.key !== 'string' || !ROOM_KEY_PATTERN.test(frame.key)) throw new SignalingFrameError('malformed', 'bad room key');
			if (frame.mailboxOnly === undefined) return { type: 'join', room: frame.room, key: frame.key };
			if (frame.mailboxOnly !== true) throw new SignalingFrameError('malformed', 'bad mailboxOnly');
			return { type: 'join', room: frame.room, key: frame.key, mailboxOnly: true };
		case 'leave':
			return { type: 'leave', room: frame.room };
		case 'signal':
			if (!isPeerId(frame.to) || !isSignalData(frame.data)) throw new SignalingFrameError('malformed', 'bad signal');
			return { type: 'signal', room: frame.room, to: frame.to, data: frame.data };
		case 'deposit': {
			const item = { id: frame.id, data: frame.data };
			if (!isMailboxItem(item) || base64UrlDecodedLength(item.data.length) < 0) throw new SignalingFrameError('malformed', 'bad mailbox item');
			// Only deposits are held to the lower bound: a client takes an item that does not open like any other.
			if (base64UrlDecodedLength(item.data.length) < MIN_MAILBOX_ITEM_BYTES) {
				throw new SignalingFrameError('malformed', `a mailbox item is at least ${MIN_MAILBOX_ITEM_BYTES} sealed bytes`);
			}
			return { type: 'deposit', room: frame.room, ...item, ...signature(frame.sig) };
		}
		case 'take':
			if (
				!Array.isArray(frame.ids) ||
				frame.ids.length > MAX_TAKE_IDS ||
				!frame.ids.every((id) => typeof id === 'string' && ITEM_ID_PATTERN.test(id))
			) {
				throw new SignalingFrameError('malformed', 'bad mailbox ids');
			}
			return { type: 'take', room: frame.room, ids: frame.ids as string[], ...signature(frame.sig) };
		default:
			throw new SignalingFrameError('malformed', 'unknown frame type');
	}
}

export function parseServerFrame(text: string): ServerFrame {
	const frame = parseObject(text);
	switch (frame.type) {
		case 'welcome':
			if (isPeerId(frame.self)) {
				const iceServers = Array.isArray(frame.iceServers) ? frame.iceServers.filter(isIceServer) : [];
				// Anything but an explicit "relay" means direct connections are allowed, as before this setting.
				const iceTransportPolicy: IceTransportPolicy = frame.iceTransportPolicy === 'relay' ? 'relay' : 'all';
				return { type: 'welcome', self: frame.self, iceServers, iceTransportPolicy };
			}
			break;
		case 'joined':
			if (isRoomId(frame.room) && Array.isArray(frame.peers) && frame.peers.every(isPeerId)) {
				return { type: 'joined', room: frame.room, peers: frame.peers };
			}
			break;
		case 'peer-joined':
		case 'peer-left':
			if (isRoomId(frame.room) && isPeerId(frame.peer)) return { type: frame.type, room: frame.room, peer: frame.peer };
			break;
		case 'signal':
			if (isRoomId(frame.room) && isPeerId(frame.from) && isSignalData(frame.data)) {
				return { type: 'signal', room: frame.room, from: frame.from, data: frame.data };
			}
			break;
		case 'mailbox':
			if (isRoomId(frame.room) && Array.isArray(frame.items) && frame.items.every(isMailboxItem)) {
				return { type: 'mailbox', room: frame.room, items: frame.items };
			}
			break;
		case 'mailbox-end':
			if (isRoomId(frame.room)) return { type: 'mailbox-end', room: frame.room };
			break;
		case 'deposited':
			if (isRoomId(frame.room) && typeof frame.id === 'string' && ITEM_ID_PATTERN.test(frame.id)) return { type: 'deposited', room: frame.room, id: frame.id };
			break;
		case 'error':
			if (typeof frame.code === 'string' && typeof frame.message === 'string' && (frame.id === undefined || (typeof frame.id === 'string' && ITEM_ID_PATTERN.test(frame.id)))) {
				return { type: 'error', code: frame.code as SignalingErrorCode, message: frame.message, ...(frame.id === undefined ? {} : { id: frame.id as string }) };
			}
			break;
	}
	throw new SignalingFrameError('malformed', 'unexpected server frame');
}
