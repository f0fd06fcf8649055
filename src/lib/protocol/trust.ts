/**
 * What makes a device part of an account, as signed statements of the account's identity key (the
 * primary's Ed25519 key). Only the primary can write them; every device checks them before it
 * trusts anything they say.
 *
 * DEVICE LIST: which devices belong to the account, and the current key epoch sealed to each.
 *   body  = [format = 1][accountKey: 32][version: varuint][issuedAt: varuint ms][epoch: varuint][flags: u8]
 *           [count: varuint ≤ 5] ( [signKey: 32][agreeKey: 32][role: u8][kind: u8][linkedAt: varuint][name: varstring] )*
 *           ( [epochBox: varbytes] )*                one per device, in the same order
 *           [formerCount: varuint ≤ 32] ( [deviceId: varstring][name: varstring] )*
 *   names: 1 to 64 characters (a former device's: at most 64); device ids: 1 to 32 characters
 *   list  = [body: varbytes][signature: 64] = sign(accountSecret, "samen/v1/device-list", body)
 *   epochBox = sealTo(agreeKey, epochSecret, associated = "samen/v1/epoch-box" ‖ accountKey ‖ epoch ‖ deviceId)
 *   flags: bit 0 = the account was deleted (the list then holds the primary alone)
 *
 * HEARTBEAT: the primary was open at `time`; companions log themselves out 14 days after the newest.
 *   body  = [format = 1][accountKey: 32][time: varuint ms]
 *   heartbeat = [body: varbytes][signature: 64] = sign(accountSecret, "samen/v1/heartbeat", body)
 *
 * LEAVING: a companion logs itself out; the primary, on seeing this, takes it off the list.
 *   body  = [format = 1][accountKey: 32][deviceId: varstring]
 *   note  = [body: varbytes][signature: 64] = sign(deviceSecret, "samen/v1/leaving", body)   by the leaving device's own key
 *   at most 160 bytes: an id of 32 ASCII characters fits, one of 32 wider characters does not
 *
 * INTRODUCTION: the first thing each side of a peer session sends, and again whenever it changes;
 * also kept in each epoch room's mailbox for devices that meet nobody.
 *   introduction = [format = 1][device list: varbytes][heartbeat: varbytes, empty when none]
 *
 * Readers check every length and count before allocating; a signature is checked before a body is
 * read. Writers refuse each field past its limit as the readers do, so that what a device writes
 * every device reads; which devices a list may name (one primary, holding the account key; none
 * twice) only the reader checks. `readSignedDeviceList` returns the list only when it is signed by
 * the key it names; the caller decides whether that key is the account's and whether the version
 * is newer.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { KEY_BYTES, SIGNATURE_BYTES, constantTimeEqual, hash, sign, toBase64Url, verify } from '../crypto';

const FORMAT = 1;
export const MAX_DEVICES = 5;
export const MAX_FORMER_DEVICES = 32;
export const MAX_DEVICE_NAME_LENGTH = 64;
export const MAX_DEVICE_ID_LENGTH = 32;
const MAX_EPOCH_BOX_BYTES = 256;
/**
 * A device list with every field at its largest (names of 64 characters of 3 UTF-8 bytes each, 32
 * former devices with ids of 32 such characters) is about 11.8 KiB; rounded up. The reader refuses
 * anything longer, and the writer's limits keep it from writing anything longer.
 */
export const MAX_DEVICE_LIST_BYTES = 16 * 1024;
export const MAX_HEARTBEAT_BYTES = 128;
export const MAX_INTRODUCTION_BYTES = MAX_DEVICE_LIST_BYTES + MAX_HEARTBEAT_BYTES + 16;

export const DEVICE_LIST_PURPOSE = 'samen/v1/device-list';
export const HEARTBEAT_PURPOSE = 'samen/v1/heartbeat';
export const LEAVING_PURPOSE = 'samen/v1/leaving';
export const MAX_LEAVING_NOTE_BYTES = 160;
const FLAG_DELETED = 1;

export type DeviceRole = 'primary' | 'companion';
export type DeviceKind = 'phone' | 'tablet' | 'computer';
const ROLES: DeviceRole[] = ['primary', 'companion'];
const KINDS: DeviceKind[] = ['phone', 'tablet', 'computer'];

export interface ListedDevice {
	id: string;
	signKey: Uint8Array;
	agreeKey: Uint8Array;
	role: DeviceRole;
	kind: DeviceKind;
	linkedAt: number;
	name: string;
}

export interface DeviceList {
	accountKey: Uint8Array;
	version: number;
	issuedAt: number;
	epoch: number;
	devices: ListedDevice[];
	/** The current epoch's secret, sealed to each device in `devices`, by index. */
	epochBoxes: Uint8Array[];
	/** Devices logged out earlier, so that their messages keep a name. */
	former: { id: string; name: string }[];
	/** The primary deleted the account: every other device logs out. */
	deleted: boolean;
}

export interface Heartbeat {
	accountKey: Uint8Array;
	time: number;
}

export class TrustFormatError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'TrustFormatError';
	}
}

/** A device's id: derived from its public keys, so no device can claim another's. */
export function deviceIdOf(signKey: Uint8Array, agreeKey: Uint8Array): string {
	return toBase64Url(hash(new TextEncoder().encode('samen/v1/device-id'), signKey, agreeKey).subarray(0, 16));
}

/** The account's id, derived from its identity key. */
export function accountIdOf(accountKey: Uint8Array): string {
	return toBase64Url(hash(new TextEncoder().encode('samen/v1/account-id'), accountKey).subarray(0, 16));
}

export function epochBoxAssociated(accountKey: Uint8Array, epoch: number, deviceId: string): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarString(encoder, 'samen/v1/epoch-box');
	encoding.writeUint8Array(encoder, accountKey);
	encoding.writeVarUint(encoder, epoch);
	encoding.writeVarString(encoder, deviceId);
	return encoding.toUint8Array(encoder);
}

/**
 * A varuint that is a safe integer: lib0 checks for overflow only before a continuation byte, so the
 * last byte can carry a number past 2^53 − 1, which would compare and add imprecisely.
 */
function readSafeUint(decoder: decoding.Decoder): number {
	const value = decoding.readVarUint(decoder);
	if (!Number.isSafeInteger(value)) throw new TrustFormatError('number too large');
	return value;
}

function checkName(name: string): void {
	if (name.length === 0 || name.length > MAX_DEVICE_NAME_LENGTH) throw new TrustFormatError('bad device name');
}

function checkTime(value: number): void {
	if (!Number.isSafeInteger(value) || value < 0) throw new TrustFormatError('bad time');
}

function checkKey(key: Uint8Array): void {
	if (key.length !== KEY_BYTES) throw new TrustFormatError('bad key');
}

function checkDeviceId(id: string): void {
	if (id.length === 0 || id.length > MAX_DEVICE_ID_LENGTH) throw new TrustFormatError('bad device id');
}

function checkFormer(id: string, name: string): void {
	if (id.length === 0 || id.length > MAX_DEVICE_ID_LENGTH || name.length > MAX_DEVICE_NAME_LENGTH) throw new TrustFormatError('bad former device');
}

/** [body: varbytes][signature: 64], where body = [format][accountKey][what `write` adds]. */
function writeSigned(purpose: string, secret: Uint8Array, accountKey: Uint8Array, write: (body: encoding.Encoder) => void): Uint8Array {
	checkKey(accountKey);
	const body = encoding.createEncoder();
	encoding.writeUint8(body, FORMAT);
	encoding.writeUint8Array(body, accountKey);
	write(body);
	const bytes = encoding.toUint8Array(body);
	const out = encoding.createEncoder();
	encoding.writeVarUint8Array(out, bytes);
	encoding.writeUint8Array(out, sign(secret, purpose, bytes));
	return encoding.toUint8Array(out);
}

/**
 * Checks a signed statement's shape and signature, then reads the rest of its body with `read`.
 * The signer is `signKey`, or, for the account's own statements, the account key the body names
 * (whether that is this device's account is the caller's question). Throws TrustFormatError only.
 */
function readSigned<T>(
	bytes: Uint8Array,
	what: string,
	maxBytes: number,
	purpose: string,
	signKey: Uint8Array | undefined,
	read: (decoder: decoding.Decoder, accountKey: Uint8Array) => T
): T {
	try {
		if (bytes.length > maxBytes) throw new TrustFormatError(`${what} too large`);
		const outer = decoding.createDecoder(bytes);
		const body = decoding.readVarUint8Array(outer);
		if (bytes.length - outer.pos !== SIGNATURE_BYTES) throw new TrustFormatError('bad signature length');
		if (body.length < 1 + KEY_BYTES || body[0] !== FORMAT) throw new TrustFormatError('unknown format');
		const accountKey = body.slice(1, 1 + KEY_BYTES);
		if (!verify(signKey ?? accountKey, purpose, body, bytes.subarray(outer.pos))) throw new TrustFormatError('bad signature');
		const decoder = decoding.createDecoder(body);
		decoder.pos = 1 + KEY_BYTES;
		const value = read(decoder, accountKey);
		if (decoding.hasContent(decoder)) throw new TrustFormatError('trailing bytes');
		return value;
	} catch (error) {
		if (error instanceof TrustFormatError) throw error;
		throw new TrustFormatError(`malformed ${what}: ${(error as Error).message}`);
	}
}

export function writeDeviceList(list: DeviceList, accountSecret: Uint8Array): Uint8Array {
	if (list.devices.length === 0 || list.devices.length > MAX_DEVICES) throw new TrustFormatError('bad device count');
	if (list.epochBoxes.length !== list.devices.length) throw new TrustFormatError('one epoch box per device');
	if (list.former.length > MAX_FORMER_DEVICES) throw new TrustFormatError('too many former devices');
	if (list.deleted && list.devices.length !== 1) throw new TrustFormatError('a deleted account lists its primary alone');
	for (const value of [list.version, list.epoch]) if (!Number.isSafeInteger(value) || value < 1) throw new TrustFormatError('bad version or epoch');
	checkTime(list.issuedAt);
	const signed = writeSigned(DEVICE_LIST_PURPOSE, accountSecret, list.accountKey, (body) => {
		encoding.writeVarUint(body, list.version);
		encoding.writeVarUint(body, list.issuedAt);
		encoding.writeVarUint(body, list.epoch);
		encoding.writeUint8(body, list.deleted ? FLAG_DELETED : 0);
		encoding.writeVarUint(body, list.devices.length);
		for (const device of list.devices) {
			const role = ROLES.indexOf(device.role);
			const kind = KINDS.indexOf(device.kind);
			if (role < 0 || kind < 0) throw new TrustFormatError('bad role or kind');
			checkName(device.name);
			checkTime(device.linkedAt);
			checkKey(device.signKey);
			checkKey(device.agreeKey);
			encoding.writeUint8Array(body, device.signKey);
			encoding.writeUint8Array(body, device.agreeKey);
			encoding.writeUint8(body, role);
			encoding.writeUint8(body, kind);
			encoding.writeVarUint(body, device.linkedAt);
			encoding.writeVarString(body, device.name);
		}
		for (const box of list.epochBoxes) {
			if (box.length > MAX_EPOCH_BOX_BYTES) throw new TrustFormatError('epoch box too large');
			encoding.writeVarUint8Array(body, box);
		}
		encoding.writeVarUint(body, list.former.length);
		for (const former of list.former) {
			checkFormer(former.id, former.name);
			encoding.writeVarString(body, former.id);
			encoding.writeVarString(body, former.name);
		}
	});
	if (signed.length > MAX_DEVICE_LIST_BYTES) throw new TrustFormatError('device list too large');
	return signed;
}

/** A device list whose signature verifies under the account key it names; throws TrustFormatError otherwise. */
export function readSignedDeviceList(bytes: Uint8Array): DeviceList {
	return readSigned(bytes, 'device list', MAX_DEVICE_LIST_BYTES, DEVICE_LIST_PURPOSE, undefined, readDeviceListBody);
}

function readDeviceListBody(decoder: decoding.Decoder, accountKey: Uint8Array): DeviceList {
	const version = readSafeUint(decoder);
	const issuedAt = readSafeUint(decoder);
	const epoch = readSafeUint(decoder);
	const flags = decoding.readUint8(decoder);
	const count = readSafeUint(decoder);
	if ((flags & ~FLAG_DELETED) !== 0) throw new TrustFormatError('unknown flags');
	if (count === 0 || count > MAX_DEVICES) throw new TrustFormatError('bad device count');
	if (epoch < 1 || version < 1) throw new TrustFormatError('bad version or epoch');
	const devices: ListedDevice[] = [];
	for (let i = 0; i < count; i++) {
		const signKey = decoding.readUint8Array(decoder, KEY_BYTES).slice();
		const agreeKey = decoding.readUint8Array(decoder, KEY_BYTES).slice();
		const role = ROLES[decoding.readUint8(decoder)];
		const kind = KINDS[decoding.readUint8(decoder)];
		const linkedAt = readSafeUint(decoder);
		const name = decoding.readVarString(decoder);
		if (!role || !kind) throw new TrustFormatError('bad role or kind');
		checkName(name);
		devices.push({ id: deviceIdOf(signKey, agreeKey), signKey, agreeKey, role, kind, linkedAt, name });
	}
	const epochBoxes: Uint8Array[] = [];
	for (let i = 0; i < count; i++) {
		const box = decoding.readVarUint8Array(decoder);
		if (box.length > MAX_EPOCH_BOX_BYTES) throw new TrustFormatError('epoch box too large');
		epochBoxes.push(box.slice());
	}
	const formerCount = readSafeUint(decoder);
	if (formerCount > MAX_FORMER_DEVICES) throw new TrustFormatError('too many former devices');
	const former: { id: string; name: string }[] = [];
	for (let i = 0; i < formerCount; i++) {
		const id = decoding.readVarString(decoder);
		const name = decoding.readVarString(decoder);
		checkFormer(id, name);
		former.push({ id, name });
	}
	const primaries = devices.filter((device) => device.role === 'primary');
	// The one primary is the account key's holder: a list naming another primary is not the account's.
	if (primaries.length !== 1 || !constantTimeEqual(primaries[0]!.signKey, accountKey)) throw new TrustFormatError('the primary must hold the account key');
	if (new Set(devices.map((device) => device.id)).size !== devices.length) throw new TrustFormatError('a device is listed twice');
	const deleted = (flags & FLAG_DELETED) !== 0;
	if (deleted && devices.length !== 1) throw new TrustFormatError('a deleted account lists its primary alone');
	return { accountKey, version, issuedAt, epoch, devices, epochBoxes, former, deleted };
}

export function writeHeartbeat(heartbeat: Heartbeat, accountSecret: Uint8Array): Uint8Array {
	checkTime(heartbeat.time);
	return writeSigned(HEARTBEAT_PURPOSE, accountSecret, heartbeat.accountKey, (body) => encoding.writeVarUint(body, heartbeat.time));
}

/** A heartbeat whose signature verifies under the account key it names; throws TrustFormatError otherwise. */
export function readSignedHeartbeat(bytes: Uint8Array): Heartbeat {
	return readSigned(bytes, 'heartbeat', MAX_HEARTBEAT_BYTES, HEARTBEAT_PURPOSE, undefined, (decoder, accountKey) => ({
		accountKey,
		time: readSafeUint(decoder)
	}));
}

export interface LeavingNote {
	accountKey: Uint8Array;
	deviceId: string;
}

export function writeLeavingNote(note: LeavingNote, deviceSecret: Uint8Array): Uint8Array {
	checkDeviceId(note.deviceId);
	const signed = writeSigned(LEAVING_PURPOSE, deviceSecret, note.accountKey, (body) => encoding.writeVarString(body, note.deviceId));
	if (signed.length > MAX_LEAVING_NOTE_BYTES) throw new TrustFormatError('leaving note too large');
	return signed;
}

/** A leaving note, if its signature verifies under `signKey` (the listed device's own key); throws TrustFormatError otherwise. */
export function readLeavingNote(bytes: Uint8Array, signKey: Uint8Array): LeavingNote {
	return readSigned(bytes, 'leaving note', MAX_LEAVING_NOTE_BYTES, LEAVING_PURPOSE, signKey, (decoder, accountKey) => {
		const deviceId = decoding.readVarString(decoder);
		checkDeviceId(deviceId);
		return { accountKey, deviceId };
	});
}

export interface Introduction {
	deviceList: Uint8Array;
	heartbeat?: Uint8Array;
}

export function writeIntroduction(introduction: Introduction): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeUint8(encoder, FORMAT);
	encoding.writeVarUint8Array(encoder, introduction.deviceList);
	encoding.writeVarUint8Array(encoder, introduction.heartbeat ?? new Uint8Array(0));
	const bytes = encoding.toUint8Array(encoder);
	if (bytes.length > MAX_INTRODUCTION_BYTES) throw new TrustFormatError('introduction too large');
	return bytes;
}

/** Splits an introduction; the signed parts inside are checked by the readers above. */
export function readIntroduction(bytes: Uint8Array): Introduction {
	try {
		if (bytes.length > MAX_INTRODUCTION_BYTES) throw new TrustFormatError('introduction too large');
		const decoder = decoding.createDecoder(bytes);
		if (decoding.readUint8(decoder) !== FORMAT) throw new TrustFormatError('unknown format');
		const deviceList = decoding.readVarUint8Array(decoder);
		const heartbeat = decoding.readVarUint8Array(decoder);
		if (decoding.hasContent(decoder)) throw new TrustFormatError('trailing bytes');
		return { deviceList, heartbeat: heartbeat.length > 0 ? heartbeat : undefined };
	} catch (error) {
		if (error instanceof TrustFormatError) throw error;
		throw new TrustFormatError(`malformed introduction: ${(error as Error).message}`);
	}
}
