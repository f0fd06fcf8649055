/**
 * Linking a new device to an account, by QR code or pasted link.
 *
 * The new device (N) makes a one-time invitation and shows it as a QR code and as a link:
 *   payload = "samen1." + base64url( version=1 ‖ room:16 ‖ publicKeyN:32 ‖ secret:16 ‖ expiresAt:u32 seconds, big-endian )
 *   link    = <origin>/settings/link#<payload>            (the fragment never reaches a server)
 * N waits in the rendezvous room hex(room). The primary (P) scans or pastes it, joins the same room
 * with a fresh X25519 key pair, and over the peer channel:
 *
 *   P → N  OFFER    [0x01][publicKeyP:32][HMAC-SHA256(secret, "samen/v1/link-offer" ‖ publicKeyP ‖ publicKeyN)]
 *   N → P  REQUEST  [0x02][seal(K, {"deviceId","deviceName"})]
 *   P → N  BUNDLE   [0x03][seal(K, AccountBundle)]         after the user confirmed the code on P
 *   P → N  DECLINE  [0x04][seal(K, {"reason"})]            the user declined, or the account is full
 *   N → P  DONE     [0x05][seal(K, "done")]
 *   N → P  REFUSED  [0x06][reason: utf-8]                  the invitation was taken by another offer
 *
 *   shared = X25519(own secret key, other's public key)
 *   salt   = secret ‖ publicKeyN ‖ publicKeyP
 *   K      = HKDF(shared, "samen/v1/link-channel", salt)
 *   code   = HKDF(shared, "samen/v1/link-code", salt, 4 bytes) as a big-endian number mod 10^6, six digits
 * Sealed messages carry their type byte as associated data. The HMAC tells N that P saw the QR code;
 * only the holder of N's secret key can open the bundle. The invitation accepts one offer, within
 * two minutes of its creation, and is gone once used.
 */
import {
	agree,
	concatBytes,
	constantTimeEqual,
	CryptoError,
	deriveKey,
	fromBase64Url,
	generateAgreementKeyPair,
	mac,
	open,
	randomBytes,
	seal,
	toBase64Url,
	toHex,
	type KeyPair
} from '../crypto';
import type { AccountBundle, Device } from '../device';
import { newId } from '../device';
import type { Transport } from '../transport/types';
import type { Clock } from '../util/clock';
import { Emitter } from '../util/emitter';
import { storeAccountKey } from './keys';
import { MAX_LINKED_DEVICES } from './model';

export const LINK_TTL_MS = 2 * 60 * 1000;
/** How long the primary waits for the new device to answer in the room. */
export const LINK_ANSWER_TIMEOUT_MS = 20 * 1000;
const PAYLOAD_PREFIX = 'samen1.';
const PAYLOAD_VERSION = 1;
const PAYLOAD_BYTES = 1 + 16 + 32 + 16 + 4;

const OFFER = 1;
const REQUEST = 2;
const BUNDLE = 3;
const DECLINE = 4;
const DONE = 5;
const REFUSED = 6;

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

interface ChannelSecrets {
	key: Uint8Array;
	code: string;
}

function deriveChannel(shared: Uint8Array, secret: Uint8Array, publicKeyN: Uint8Array, publicKeyP: Uint8Array): ChannelSecrets {
	const salt = concatBytes(secret, publicKeyN, publicKeyP);
	const key = deriveKey(shared, 'samen/v1/link-channel', salt);
	const codeBytes = deriveKey(shared, 'samen/v1/link-code', salt, 4);
	const number = new DataView(codeBytes.buffer, codeBytes.byteOffset).getUint32(0) % 1_000_000;
	return { key, code: String(number).padStart(6, '0') };
}

function offerTag(secret: Uint8Array, publicKeyP: Uint8Array, publicKeyN: Uint8Array): Uint8Array {
	return mac(secret, new TextEncoder().encode('samen/v1/link-offer'), publicKeyP, publicKeyN);
}

function sealedMessage(type: number, key: Uint8Array, value: unknown): Uint8Array {
	const typeByte = new Uint8Array([type]);
	return concatBytes(typeByte, seal(key, new TextEncoder().encode(JSON.stringify(value)), typeByte));
}

function openMessage<T>(data: Uint8Array, key: Uint8Array): T {
	const typeByte = data.subarray(0, 1);
	return JSON.parse(new TextDecoder().decode(open(key, data.subarray(1), typeByte))) as T;
}

/** What each side shows the user. */
export type LinkState =
	| { kind: 'waiting' }
	| { kind: 'confirm'; code: string; deviceName: string }
	| { kind: 'linked'; deviceName: string }
	| { kind: 'failed'; error: LinkErrorCode };

/** The new device's side: shows the invitation, waits for the primary, receives the account. */
export class LinkInvitation extends Emitter<{ state: LinkState; bundle: AccountBundle }> {
	readonly payload: string;
	readonly expiresAt: number;
	state: LinkState = { kind: 'waiting' };
	private readonly keys: KeyPair = generateAgreementKeyPair();
	private readonly secret = randomBytes(16);
	private readonly room = randomBytes(16);
	private readonly deviceId = newId();
	private transport?: Transport;
	private primaryPeer?: string;
	private channel?: ChannelSecrets;
	private expiryTimer?: ReturnType<typeof setTimeout>;

	constructor(
		/** May change until the primary answers; it is sent then. */
		public deviceName: string,
		private readonly openTransport: (room: string) => Transport,
		clock: Clock
	) {
		super();
		this.expiresAt = Math.floor((clock() + LINK_TTL_MS) / 1000) * 1000;
		this.payload = encodeLinkPayload({
			room: this.room,
			publicKey: this.keys.publicKey,
			secret: this.secret,
			expiresAt: this.expiresAt
		});
		this.expiryTimer = setTimeout(() => {
			if (this.state.kind === 'waiting') this.finish({ kind: 'failed', error: 'expired' });
		}, this.expiresAt - clock());
	}

	start(): void {
		const transport = this.openTransport(toHex(this.room));
		this.transport = transport;
		transport.on('message', ({ peer, data }) => this.receive(peer, data));
		transport.on('peer-disconnected', (peer) => {
			if (peer === this.primaryPeer && this.state.kind === 'confirm') this.finish({ kind: 'failed', error: 'disconnected' });
		});
		transport.connect();
	}

	cancel(): void {
		if (this.state.kind === 'waiting' || this.state.kind === 'confirm') this.finish({ kind: 'failed', error: 'expired' });
	}

	private receive(peer: string, data: Uint8Array): void {
		if (this.state.kind === 'linked' || this.state.kind === 'failed') return;
		try {
			if (data[0] === OFFER && data.length === 1 + 32 + 32) {
				if (this.primaryPeer !== undefined) {
					if (peer !== this.primaryPeer) this.transport?.send(peer, concatBytes(new Uint8Array([REFUSED]), new TextEncoder().encode('used')));
					return;
				}
				const publicKeyP = data.slice(1, 33);
				if (!constantTimeEqual(data.subarray(33), offerTag(this.secret, publicKeyP, this.keys.publicKey))) return;
				this.primaryPeer = peer;
				this.channel = deriveChannel(agree(this.keys.secretKey, publicKeyP), this.secret, this.keys.publicKey, publicKeyP);
				this.transport?.send(peer, sealedMessage(REQUEST, this.channel.key, { deviceId: this.deviceId, deviceName: this.deviceName }));
				this.setState({ kind: 'confirm', code: this.channel.code, deviceName: this.deviceName });
				return;
			}
			if (peer !== this.primaryPeer || !this.channel) return;
			if (data[0] === BUNDLE) {
				const bundle = openMessage<AccountBundle>(data, this.channel.key);
				if (!isBundle(bundle) || bundle.deviceId !== this.deviceId) throw new LinkError('tampered');
				this.transport?.send(peer, sealedMessage(DONE, this.channel.key, 'done'));
				this.emit('bundle', bundle);
				this.finish({ kind: 'linked', deviceName: this.deviceName });
			} else if (data[0] === DECLINE) {
				const { reason } = openMessage<{ reason: LinkErrorCode }>(data, this.channel.key);
				this.finish({ kind: 'failed', error: reason === 'too-many-devices' ? reason : 'declined' });
			}
		} catch (error) {
			if (!(error instanceof CryptoError || error instanceof LinkError || error instanceof SyntaxError)) throw error;
			this.finish({ kind: 'failed', error: 'tampered' });
		}
	}

	private finish(state: LinkState): void {
		clearTimeout(this.expiryTimer);
		this.setState(state);
		closeSoon(this.transport);
	}

	private setState(state: LinkState): void {
		this.state = state;
		this.emit('state', state);
	}
}

function isBundle(value: unknown): value is AccountBundle {
	const b = value as AccountBundle;
	return (
		typeof b === 'object' &&
		b !== null &&
		typeof b.accountName === 'string' &&
		typeof b.deviceId === 'string' &&
		typeof b.deviceName === 'string' &&
		typeof b.key?.secret === 'string' &&
		typeof b.key?.epoch === 'number'
	);
}

/** The primary's side: answers an invitation and, once the user confirms, hands over the account. */
export class LinkApproval extends Emitter<{ state: LinkState }> {
	state: LinkState = { kind: 'waiting' };
	private readonly keys: KeyPair = generateAgreementKeyPair();
	private transport?: Transport;
	private peer?: string;
	private channel?: ChannelSecrets;
	private request?: { deviceId: string; deviceName: string };
	private answerTimer?: ReturnType<typeof setTimeout>;
	private readonly payload: LinkPayload;

	/** Throws LinkError at once for a payload that is not ours or has expired. */
	constructor(
		text: string,
		private readonly device: Device,
		private readonly openTransport: (room: string) => Transport,
		private readonly clock: Clock
	) {
		super();
		this.payload = decodeLinkPayload(text);
		if (this.payload.expiresAt <= clock()) throw new LinkError('expired');
		if (device.identity.role !== 'primary') throw new LinkError('not-primary');
		if (companionCount(device) >= MAX_LINKED_DEVICES) throw new LinkError('too-many-devices');
	}

	start(): void {
		const transport = this.openTransport(toHex(this.payload.room));
		this.transport = transport;
		transport.on('peer-connected', (peer) => {
			if (this.peer !== undefined) return;
			const tag = offerTag(this.payload.secret, this.keys.publicKey, this.payload.publicKey);
			transport.send(peer, concatBytes(new Uint8Array([OFFER]), this.keys.publicKey, tag));
		});
		transport.on('peer-disconnected', (peer) => {
			if (peer === this.peer && this.state.kind === 'confirm') this.finish({ kind: 'failed', error: 'disconnected' });
		});
		transport.on('message', ({ peer, data }) => this.receive(peer, data));
		this.answerTimer = setTimeout(() => {
			if (this.state.kind === 'waiting') this.finish({ kind: 'failed', error: 'unanswered' });
		}, LINK_ANSWER_TIMEOUT_MS);
		transport.connect();
	}

	/** The user saw the same code on both devices. */
	confirm(): void {
		if (this.state.kind !== 'confirm' || !this.channel || !this.request || this.peer === undefined) return;
		if (companionCount(this.device) >= MAX_LINKED_DEVICES) {
			this.transport?.send(this.peer, sealedMessage(DECLINE, this.channel.key, { reason: 'too-many-devices' }));
			this.finish({ kind: 'failed', error: 'too-many-devices' });
			return;
		}
		this.device.addDevice({ id: this.request.deviceId, name: this.request.deviceName, role: 'companion', linkedAt: this.clock() });
		const bundle: AccountBundle = {
			accountName: this.device.accountName,
			key: storeAccountKey(this.device.accountKey),
			deviceId: this.request.deviceId,
			deviceName: this.request.deviceName
		};
		this.transport?.send(this.peer, sealedMessage(BUNDLE, this.channel.key, bundle));
	}

	decline(): void {
		if (this.peer !== undefined && this.channel) {
			this.transport?.send(this.peer, sealedMessage(DECLINE, this.channel.key, { reason: 'declined' }));
		}
		this.finish({ kind: 'failed', error: 'declined' });
	}

	private receive(peer: string, data: Uint8Array): void {
		if (this.state.kind === 'linked' || this.state.kind === 'failed') return;
		try {
			if (data[0] === REFUSED) {
				if (this.peer === undefined) this.finish({ kind: 'failed', error: 'used' });
				return;
			}
			if (data[0] === REQUEST && this.peer === undefined) {
				const channel = deriveChannel(agree(this.keys.secretKey, this.payload.publicKey), this.payload.secret, this.payload.publicKey, this.keys.publicKey);
				const request = openMessage<{ deviceId: string; deviceName: string }>(data, channel.key);
				if (typeof request.deviceId !== 'string' || typeof request.deviceName !== 'string') throw new LinkError('tampered');
				this.peer = peer;
				this.channel = channel;
				this.request = { deviceId: request.deviceId.slice(0, 64), deviceName: request.deviceName.slice(0, 64) };
				clearTimeout(this.answerTimer);
				this.setState({ kind: 'confirm', code: channel.code, deviceName: this.request.deviceName });
				return;
			}
			if (data[0] === DONE && peer === this.peer && this.channel && this.request) {
				openMessage(data, this.channel.key);
				this.finish({ kind: 'linked', deviceName: this.request.deviceName });
			}
		} catch (error) {
			if (!(error instanceof CryptoError || error instanceof LinkError || error instanceof SyntaxError)) throw error;
			// Someone else in the room sent garbage; the real device may still answer.
		}
	}

	private finish(state: LinkState): void {
		clearTimeout(this.answerTimer);
		this.state = state;
		this.emit('state', state);
		closeSoon(this.transport);
	}

	private setState(state: LinkState): void {
		this.state = state;
		this.emit('state', state);
	}
}

/** Gives the last message a moment to leave before the room is closed. */
function closeSoon(transport: Transport | undefined): void {
	setTimeout(() => transport?.close(), 500);
}

function companionCount(device: Device): number {
	return device.devices.filter((d) => d.role === 'companion').length;
}

