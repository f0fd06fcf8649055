/**
 * The signed trust statements' limits from both sides (src/lib/protocol/trust.ts): the largest and
 * the strangest device list, heartbeat, leaving note and introduction each format allows is written
 * and read back whole; one past each limit is refused by the writer (TrustFormatError) and, written
 * by a writer that ignores the limit and signed with the right key, so that only the limit can be
 * the reason, by the reader, for that reason. Then what a hostile peer or the server could hand over
 * instead: nothing, every cut of a statement, trailing bytes, lengths past the end, varuints that
 * overflow, numbers past 2^53 − 1, unknown formats, flags, roles and kinds, another purpose's signature.
 */
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { OVERFLOWING_VARUINT, refused as refusedWith } from '../helpers/limits';
import { concatBytes, KEY_BYTES, randomBytes, sign } from '../../src/lib/crypto';
import { generateDeviceKeys, type DeviceKeys } from '../../src/lib/identity/device-keys';
import {
	DEVICE_LIST_PURPOSE,
	HEARTBEAT_PURPOSE,
	LEAVING_PURPOSE,
	MAX_DEVICE_LIST_BYTES,
	MAX_DEVICE_NAME_LENGTH,
	MAX_DEVICES,
	MAX_FORMER_DEVICES,
	MAX_HEARTBEAT_BYTES,
	MAX_INTRODUCTION_BYTES,
	MAX_LEAVING_NOTE_BYTES,
	readIntroduction,
	readLeavingNote,
	readSignedDeviceList,
	readSignedHeartbeat,
	TrustFormatError,
	writeDeviceList,
	writeHeartbeat,
	writeIntroduction,
	writeLeavingNote,
	type DeviceKind,
	type DeviceList,
	type DeviceRole,
	type ListedDevice
} from '../../src/lib/protocol/trust';

const MAX = Number.MAX_SAFE_INTEGER;
const primary = generateDeviceKeys();
const companion = generateDeviceKeys();
const SECRET = primary.signing.secretKey;
const ACCOUNT_KEY = primary.signing.publicKey;
/** Text as strange as a name gets: other scripts, joiners, quotes, a NUL and line separators. */
const STRANGE = 'Ωµ\u200d👩‍👩‍👧 "quoted" \\ back\nslash\u2028\u2029\u0000 عربى';
/** The most bytes a name may take: every character three bytes of UTF-8. */
const WIDEST_NAME = '€'.repeat(MAX_DEVICE_NAME_LENGTH);

function listed(keys: DeviceKeys, role: DeviceRole, kind: DeviceKind, linkedAt: number, name: string): ListedDevice {
	return { id: keys.id, signKey: keys.signing.publicKey, agreeKey: keys.agreement.publicKey, role, kind, linkedAt, name };
}

/** Every field at its limit: 5 devices, the widest and strangest names, 32 former devices, numbers at 2^53 − 1. */
const LARGEST: DeviceList = {
	accountKey: ACCOUNT_KEY,
	version: MAX,
	issuedAt: MAX,
	epoch: MAX,
	devices: [
		listed(primary, 'primary', 'computer', 0, WIDEST_NAME),
		listed(companion, 'companion', 'phone', MAX, STRANGE.padEnd(MAX_DEVICE_NAME_LENGTH, '€')),
		...Array.from({ length: MAX_DEVICES - 2 }, (_, i) => listed(generateDeviceKeys(), 'companion', (['tablet', 'computer', 'phone'] as const)[i]!, MAX - i, i === 0 ? 'x' : WIDEST_NAME))
	],
	epochBoxes: Array.from({ length: MAX_DEVICES }, () => randomBytes(256)),
	former: Array.from({ length: MAX_FORMER_DEVICES }, (_, i) => ({ id: String(i).padStart(32, 'ア'), name: WIDEST_NAME })),
	deleted: false
};

/** Every field at its least: the primary alone, version and epoch 1, time 0, an empty box, a deleted account. */
const SMALLEST: DeviceList = {
	accountKey: ACCOUNT_KEY,
	version: 1,
	issuedAt: 0,
	epoch: 1,
	devices: [listed(primary, 'primary', 'phone', 0, 'x')],
	epochBoxes: [new Uint8Array(0)],
	former: [{ id: 'a', name: '' }],
	deleted: true
};

/** What a writer that checks nothing may also get wrong: any flags, counts, format, raw name bytes, bytes after. */
interface Forgery {
	format?: number;
	flags?: number;
	count?: number;
	formerCount?: number;
	/** The first device's name as raw bytes, length prefix included. */
	rawName?: Uint8Array;
	tail?: Uint8Array;
}

/** A device list's body as a writer that checks nothing writes it: each field as given (an unknown role or kind as 255). */
function listBody(list: DeviceList, forgery: Forgery = {}): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeUint8(encoder, forgery.format ?? 1);
	encoding.writeUint8Array(encoder, list.accountKey);
	encoding.writeVarUint(encoder, list.version);
	encoding.writeVarUint(encoder, list.issuedAt);
	encoding.writeVarUint(encoder, list.epoch);
	encoding.writeUint8(encoder, forgery.flags ?? (list.deleted ? 1 : 0));
	encoding.writeVarUint(encoder, forgery.count ?? list.devices.length);
	const code = (known: readonly string[], value: string) => (known.includes(value) ? known.indexOf(value) : 255);
	for (const [index, device] of list.devices.entries()) {
		encoding.writeUint8Array(encoder, device.signKey);
		encoding.writeUint8Array(encoder, device.agreeKey);
		encoding.writeUint8(encoder, code(['primary', 'companion'], device.role));
		encoding.writeUint8(encoder, code(['phone', 'tablet', 'computer'], device.kind));
		encoding.writeVarUint(encoder, device.linkedAt);
		if (index === 0 && forgery.rawName) encoding.writeUint8Array(encoder, forgery.rawName);
		else encoding.writeVarString(encoder, device.name);
	}
	for (const box of list.epochBoxes) encoding.writeVarUint8Array(encoder, box);
	encoding.writeVarUint(encoder, forgery.formerCount ?? list.former.length);
	for (const former of list.former) {
		encoding.writeVarString(encoder, former.id);
		encoding.writeVarString(encoder, former.name);
	}
	encoding.writeUint8Array(encoder, forgery.tail ?? new Uint8Array(0));
	return encoding.toUint8Array(encoder);
}

function varUint(value: number): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, value);
	return encoding.toUint8Array(encoder);
}

/** [body: varbytes][signature: 64], as the writers lay out every signed statement. */
function signed(secret: Uint8Array, purpose: string, body: Uint8Array): Uint8Array {
	return concatBytes(varUint(body.length), body, sign(secret, purpose, body));
}

const forgeList = (list: DeviceList, forgery?: Forgery) => signed(SECRET, DEVICE_LIST_PURPOSE, listBody(list, forgery));


/** Refused with TrustFormatError and, when `reason` is given, for that reason; `what` names a table's row. */
const refused = (run: () => unknown, reason?: string, what?: string) => refusedWith(run, TrustFormatError, reason, what);

describe('device lists at and just past their limits', () => {
	it('the largest list every limit allows is written, read back whole, and fits an introduction with the largest heartbeat', () => {
		const bytes = writeDeviceList(LARGEST, SECRET);
		expect(readSignedDeviceList(bytes)).toEqual(LARGEST);
		expect(bytes.length).toBeLessThanOrEqual(MAX_DEVICE_LIST_BYTES);
		const heartbeat = writeHeartbeat({ accountKey: ACCOUNT_KEY, time: MAX }, SECRET);
		const parts = readIntroduction(writeIntroduction({ deviceList: bytes, heartbeat }));
		expect(readSignedDeviceList(parts.deviceList)).toEqual(LARGEST);
		expect(readSignedHeartbeat(parts.heartbeat!)).toEqual({ accountKey: ACCOUNT_KEY, time: MAX });
	});

	it('the smallest list is written and read back whole: a deleted account, its primary alone, an empty epoch box', () => {
		expect(readSignedDeviceList(writeDeviceList(SMALLEST, SECRET))).toEqual(SMALLEST);
	});

	it('the test forger writes a legal list byte for byte as writeDeviceList does, so what it signs differs only where a row says', () => {
		expect(forgeList(LARGEST)).toEqual(writeDeviceList(LARGEST, SECRET));
		expect(forgeList(SMALLEST)).toEqual(writeDeviceList(SMALLEST, SECRET));
	});

	const sixth = generateDeviceKeys();
	const withDevice = (index: number, change: Partial<ListedDevice>) => (list: DeviceList) => ({ ...list, devices: list.devices.map((device, i) => (i === index ? { ...device, ...change } : device)) });
	const withFormer = (change: Partial<{ id: string; name: string }>) => (list: DeviceList) => ({ ...list, former: [{ ...list.former[0]!, ...change }, ...list.former.slice(1)] });
	/** One field of LARGEST one past its limit; the writer's reason and the reader's (when they differ). */
	const PAST: { limit: string; change: (list: DeviceList) => DeviceList; writer: string; reader?: string }[] = [
		{ limit: 'a sixth device', change: (l) => ({ ...l, devices: [...l.devices, listed(sixth, 'companion', 'phone', 0, 'Sixth')], epochBoxes: [...l.epochBoxes, randomBytes(104)] }), writer: 'bad device count' },
		{ limit: 'no device at all', change: (l) => ({ ...l, devices: [], epochBoxes: [] }), writer: 'bad device count' },
		{ limit: 'a name of 65 characters', change: withDevice(1, { name: `${WIDEST_NAME}x` }), writer: 'bad device name' },
		{ limit: 'an empty name', change: withDevice(1, { name: '' }), writer: 'bad device name' },
		{ limit: 'an epoch box of 257 bytes', change: (l) => ({ ...l, epochBoxes: [...l.epochBoxes.slice(0, -1), randomBytes(257)] }), writer: 'epoch box too large' },
		{ limit: '33 former devices', change: (l) => ({ ...l, former: [...l.former, { id: 'b', name: 'c' }] }), writer: 'too many former devices' },
		{ limit: 'a former id of 33 characters', change: withFormer({ id: 'ア'.repeat(33) }), writer: 'bad former device' },
		{ limit: 'an empty former id', change: withFormer({ id: '' }), writer: 'bad former device' },
		{ limit: 'a former name of 65 characters', change: withFormer({ name: `${WIDEST_NAME}x` }), writer: 'bad former device' },
		{ limit: 'version 0', change: (l) => ({ ...l, version: 0 }), writer: 'bad version or epoch' },
		{ limit: 'epoch 0', change: (l) => ({ ...l, epoch: 0 }), writer: 'bad version or epoch' },
		{ limit: 'version 2^53', change: (l) => ({ ...l, version: MAX + 1 }), writer: 'bad version or epoch', reader: 'number too large' },
		{ limit: 'epoch 2^53', change: (l) => ({ ...l, epoch: MAX + 1 }), writer: 'bad version or epoch', reader: 'number too large' },
		{ limit: 'issued at 2^53', change: (l) => ({ ...l, issuedAt: MAX + 1 }), writer: 'bad time', reader: 'number too large' },
		{ limit: 'linked at 2^53', change: withDevice(2, { linkedAt: MAX + 1 }), writer: 'bad time', reader: 'number too large' },
		{ limit: 'an unknown role', change: withDevice(1, { role: 'owner' as DeviceRole }), writer: 'bad role or kind' },
		{ limit: 'an unknown kind', change: withDevice(1, { kind: 'watch' as DeviceKind }), writer: 'bad role or kind' },
		{ limit: 'a deleted account that still lists companions', change: (l) => ({ ...l, deleted: true }), writer: 'a deleted account lists its primary alone' }
	];
	for (const { limit, change, writer, reader } of PAST) {
		it(`${limit}: refused by the writer and, signed by the account key, by every device that reads it`, () => {
			const past = change(LARGEST);
			refused(() => writeDeviceList(past, SECRET), writer);
			refused(() => readSignedDeviceList(forgeList(past)), reader ?? writer);
		});
	}

	it('numbers no varuint carries (negative, fractional, not a number, infinite) are refused by the writer, not written as other numbers', () => {
		for (const bad of [-1, 0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
			for (const field of ['version', 'epoch', 'issuedAt'] as const) refused(() => writeDeviceList({ ...LARGEST, [field]: bad }, SECRET));
			refused(() => writeDeviceList(withDevice(1, { linkedAt: bad })(LARGEST), SECRET), 'bad time');
		}
	});

	it('keys of 31 or 33 bytes are refused by the writer: the account key, a device’s signing and agreement keys', () => {
		for (const length of [KEY_BYTES - 1, KEY_BYTES + 1]) {
			const key = concatBytes(ACCOUNT_KEY, new Uint8Array(1)).subarray(0, length);
			refused(() => writeDeviceList({ ...LARGEST, accountKey: key }, SECRET), 'bad key');
			refused(() => writeDeviceList(withDevice(1, { signKey: key })(LARGEST), SECRET), 'bad key');
			refused(() => writeDeviceList(withDevice(1, { agreeKey: key })(LARGEST), SECRET), 'bad key');
		}
	});

	it(`a list of ${MAX_DEVICE_LIST_BYTES + 1} bytes is refused before its signature is checked; one of ${MAX_DEVICE_LIST_BYTES} only for what it holds`, () => {
		const base = forgeList(LARGEST).length;
		const at = (total: number) => forgeList(LARGEST, { tail: new Uint8Array(total - base) });
		expect(at(MAX_DEVICE_LIST_BYTES)).toHaveLength(MAX_DEVICE_LIST_BYTES);
		refused(() => readSignedDeviceList(at(MAX_DEVICE_LIST_BYTES)), 'trailing bytes');
		refused(() => readSignedDeviceList(at(MAX_DEVICE_LIST_BYTES + 1)), 'device list too large');
	});
});

describe('device lists a hostile peer or server could hand over', () => {
	it('every cut of a signed list, and every cut of its body signed again by the account key, is refused', () => {
		const bytes = writeDeviceList(SMALLEST, SECRET);
		for (let length = 0; length < bytes.length; length++) refused(() => readSignedDeviceList(bytes.subarray(0, length)), undefined, `cut at ${length}`);
		const body = listBody(SMALLEST);
		for (let length = 0; length < body.length; length++) refused(() => readSignedDeviceList(signed(SECRET, DEVICE_LIST_PURPOSE, body.subarray(0, length))), undefined, `body cut at ${length}`);
		expect(readSignedDeviceList(signed(SECRET, DEVICE_LIST_PURPOSE, body))).toEqual(SMALLEST);
	});

	it('refuses strange shapes, though signed by the account key: formats, flags, counts and lengths no writer makes', () => {
		const body = listBody(SMALLEST);
		const valid = signed(SECRET, DEVICE_LIST_PURPOSE, body);
		const afterKey = body.subarray(1 + KEY_BYTES + 1);
		const strange: [string, Uint8Array, string?][] = [
			['nothing at all', new Uint8Array(0)],
			['a byte after the signature', concatBytes(valid, Uint8Array.of(0)), 'bad signature length'],
			['a body length past the end', concatBytes(varUint(valid.length), valid.subarray(varUint(body.length).length))],
			['a body length that overflows a varuint', concatBytes(OVERFLOWING_VARUINT, valid)],
			['a byte after the body, under the signature', forgeList(SMALLEST, { tail: Uint8Array.of(0) }), 'trailing bytes'],
			['format 0', forgeList(SMALLEST, { format: 0 }), 'unknown format'],
			['format 2', forgeList(SMALLEST, { format: 2 }), 'unknown format'],
			['a body too short to name its key', signed(SECRET, DEVICE_LIST_PURPOSE, body.subarray(0, KEY_BYTES)), 'unknown format'],
			['an unknown flag', forgeList(SMALLEST, { flags: 2 }), 'unknown flags'],
			['the top flag bit', forgeList(SMALLEST, { flags: 0x81 }), 'unknown flags'],
			['a device count of 2^53', forgeList(SMALLEST, { count: MAX + 1 }), 'number too large'],
			['a former count of 2^53', forgeList(SMALLEST, { formerCount: MAX + 1 }), 'number too large'],
			['a former count past the devices it holds', forgeList(SMALLEST, { formerCount: 2 })],
			['a version that overflows a varuint', signed(SECRET, DEVICE_LIST_PURPOSE, concatBytes(body.subarray(0, 1 + KEY_BYTES), OVERFLOWING_VARUINT, afterKey))],
			['a name that is not UTF-8', forgeList(SMALLEST, { rawName: Uint8Array.of(2, 0xff, 0xfe) })],
			['a name whose length runs past the body', forgeList(SMALLEST, { rawName: Uint8Array.of(0x7f, 0x61) })],
			['the list signed for another purpose', signed(SECRET, HEARTBEAT_PURPOSE, body), 'bad signature']
		];
		for (const [what, bytes, reason] of strange) refused(() => readSignedDeviceList(bytes), reason, what);
		expect(readSignedDeviceList(valid)).toEqual(SMALLEST);
	});
});

describe('heartbeats at and just past their limits', () => {
	const forgeHeartbeat = (tail: Uint8Array, format = 1) => signed(SECRET, HEARTBEAT_PURPOSE, concatBytes(Uint8Array.of(format), ACCOUNT_KEY, tail));

	it('a heartbeat at time 0 and at 2^53 − 1 is written and read back; at 2^53 it is refused by the writer and, signed by the account key, by the reader', () => {
		for (const time of [0, 1, MAX]) {
			const bytes = writeHeartbeat({ accountKey: ACCOUNT_KEY, time }, SECRET);
			expect(readSignedHeartbeat(bytes)).toEqual({ accountKey: ACCOUNT_KEY, time });
			expect(forgeHeartbeat(varUint(time))).toEqual(bytes);
			expect(bytes.length).toBeLessThanOrEqual(MAX_HEARTBEAT_BYTES);
		}
		refused(() => writeHeartbeat({ accountKey: ACCOUNT_KEY, time: MAX + 1 }, SECRET), 'bad time');
		refused(() => readSignedHeartbeat(forgeHeartbeat(varUint(MAX + 1))), 'number too large');
	});

	it('the writer refuses times no varuint carries and account keys of 31 or 33 bytes', () => {
		for (const time of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) refused(() => writeHeartbeat({ accountKey: ACCOUNT_KEY, time }, SECRET), 'bad time');
		// 33 bytes that start with the real key: the reader would take the extra byte for the time.
		refused(() => writeHeartbeat({ accountKey: concatBytes(ACCOUNT_KEY, Uint8Array.of(5)), time: 7 }, SECRET), 'bad key');
		refused(() => writeHeartbeat({ accountKey: ACCOUNT_KEY.subarray(1), time: 7 }, SECRET), 'bad key');
	});

	it(`a heartbeat of ${MAX_HEARTBEAT_BYTES + 1} bytes is refused before its signature is checked; one of ${MAX_HEARTBEAT_BYTES} only for what it holds`, () => {
		const base = forgeHeartbeat(varUint(MAX)).length;
		const at = (total: number) => forgeHeartbeat(concatBytes(varUint(MAX), new Uint8Array(total - base)));
		expect(at(MAX_HEARTBEAT_BYTES)).toHaveLength(MAX_HEARTBEAT_BYTES);
		refused(() => readSignedHeartbeat(at(MAX_HEARTBEAT_BYTES)), 'trailing bytes');
		refused(() => readSignedHeartbeat(at(MAX_HEARTBEAT_BYTES + 1)), 'heartbeat too large');
	});

	it('refuses every cut, every cut of its body signed again, and strange shapes signed by the account key', () => {
		const bytes = writeHeartbeat({ accountKey: ACCOUNT_KEY, time: MAX }, SECRET);
		for (let length = 0; length < bytes.length; length++) refused(() => readSignedHeartbeat(bytes.subarray(0, length)));
		const body = concatBytes(Uint8Array.of(1), ACCOUNT_KEY, varUint(MAX));
		for (let length = 0; length < body.length; length++) refused(() => readSignedHeartbeat(signed(SECRET, HEARTBEAT_PURPOSE, body.subarray(0, length))));
		refused(() => readSignedHeartbeat(forgeHeartbeat(concatBytes(varUint(MAX), Uint8Array.of(0)))), 'trailing bytes');
		refused(() => readSignedHeartbeat(forgeHeartbeat(OVERFLOWING_VARUINT)), 'malformed heartbeat');
		refused(() => readSignedHeartbeat(forgeHeartbeat(varUint(1), 0)), 'unknown format');
		refused(() => readSignedHeartbeat(forgeHeartbeat(varUint(1), 2)), 'unknown format');
		refused(() => readSignedHeartbeat(concatBytes(bytes, Uint8Array.of(0))), 'bad signature length');
		// The account key's signature on the same body, made for a device list: not a heartbeat.
		refused(() => readSignedHeartbeat(signed(SECRET, DEVICE_LIST_PURPOSE, body)), 'bad signature');
		expect(readSignedHeartbeat(signed(SECRET, HEARTBEAT_PURPOSE, body)).time).toBe(MAX);
	});
});

describe('leaving notes at and just past their limits', () => {
	const DEVICE_SECRET = companion.signing.secretKey;
	const DEVICE_KEY = companion.signing.publicKey;
	const forgeNote = (deviceId: Uint8Array, secret = DEVICE_SECRET, format = 1) => signed(secret, LEAVING_PURPOSE, concatBytes(Uint8Array.of(format), ACCOUNT_KEY, deviceId));
	const text = (value: string) => {
		const encoder = encoding.createEncoder();
		encoding.writeVarString(encoder, value);
		return encoding.toUint8Array(encoder);
	};
	/** 61 bytes of UTF-8 in 21 characters: the note is exactly MAX_LEAVING_NOTE_BYTES long. */
	const FULLEST = `${'€'.repeat(20)}a`;

	it('a note for an id of 32 characters, a strange id, and one that fills the note to its last byte is written and read back', () => {
		for (const deviceId of ['x'.repeat(32), companion.id, 'é😀\u0000\u2028', 'a', FULLEST]) {
			const bytes = writeLeavingNote({ accountKey: ACCOUNT_KEY, deviceId }, DEVICE_SECRET);
			expect(bytes).toEqual(forgeNote(text(deviceId)));
			expect(readLeavingNote(bytes, DEVICE_KEY)).toEqual({ accountKey: ACCOUNT_KEY, deviceId });
		}
		expect(writeLeavingNote({ accountKey: ACCOUNT_KEY, deviceId: FULLEST }, DEVICE_SECRET)).toHaveLength(MAX_LEAVING_NOTE_BYTES);
	});

	const PAST: [string, string, string][] = [
		['an id of 33 characters', 'x'.repeat(33), 'bad device id'],
		['an empty id', '', 'bad device id'],
		[`a note of ${MAX_LEAVING_NOTE_BYTES + 1} bytes (an id of 32 characters of three bytes each is longer still)`, `${FULLEST}b`, 'leaving note too large'],
		['an id of 32 characters of three bytes each', '€'.repeat(32), 'leaving note too large']
	];
	for (const [limit, deviceId, reason] of PAST) {
		it(`${limit}: refused by the writer and, signed by the leaving device, by the primary`, () => {
			refused(() => writeLeavingNote({ accountKey: ACCOUNT_KEY, deviceId }, DEVICE_SECRET), reason);
			refused(() => readLeavingNote(forgeNote(text(deviceId)), DEVICE_KEY), reason);
		});
	}

	it('refuses every cut, every cut of its body signed again, and strange shapes signed by the leaving device', () => {
		const bytes = writeLeavingNote({ accountKey: ACCOUNT_KEY, deviceId: companion.id }, DEVICE_SECRET);
		for (let length = 0; length < bytes.length; length++) refused(() => readLeavingNote(bytes.subarray(0, length), DEVICE_KEY));
		const body = concatBytes(Uint8Array.of(1), ACCOUNT_KEY, text(companion.id));
		for (let length = 0; length < body.length; length++) refused(() => readLeavingNote(signed(DEVICE_SECRET, LEAVING_PURPOSE, body.subarray(0, length)), DEVICE_KEY));
		refused(() => readLeavingNote(forgeNote(concatBytes(text(companion.id), Uint8Array.of(0))), DEVICE_KEY), 'trailing bytes');
		refused(() => readLeavingNote(forgeNote(Uint8Array.of(2, 0xff, 0xfe)), DEVICE_KEY), 'malformed leaving note');
		refused(() => readLeavingNote(forgeNote(Uint8Array.of(0x7f, 0x61)), DEVICE_KEY), 'malformed leaving note');
		refused(() => readLeavingNote(forgeNote(concatBytes(OVERFLOWING_VARUINT, text(companion.id))), DEVICE_KEY), 'malformed leaving note');
		refused(() => readLeavingNote(forgeNote(text(companion.id), DEVICE_SECRET, 2), DEVICE_KEY), 'unknown format');
		// Signed by the account key in the device's name: only the device's own key speaks for it.
		refused(() => readLeavingNote(forgeNote(text(companion.id), SECRET), DEVICE_KEY), 'bad signature');
		refused(() => readLeavingNote(signed(DEVICE_SECRET, HEARTBEAT_PURPOSE, body), DEVICE_KEY), 'bad signature');
		expect(readLeavingNote(signed(DEVICE_SECRET, LEAVING_PURPOSE, body), DEVICE_KEY).deviceId).toBe(companion.id);
	});
});

describe('introductions at and just past their limits', () => {
	/** [format][list: varbytes][heartbeat: varbytes] as a writer that checks nothing writes it. */
	const introduction = (deviceList: Uint8Array, heartbeat: Uint8Array, format = 1) => concatBytes(Uint8Array.of(format), varUint(deviceList.length), deviceList, varUint(heartbeat.length), heartbeat);
	/** Parts that fill an introduction to exactly `total` bytes: the largest list a reader takes, and the rest for the heartbeat. */
	const filling = (total: number) => ({ deviceList: randomBytes(MAX_DEVICE_LIST_BYTES), heartbeat: randomBytes(total - MAX_DEVICE_LIST_BYTES - 1 - 3 - 2) });

	it(`an introduction of exactly ${MAX_INTRODUCTION_BYTES} bytes is written and split back whole; one byte more is refused by the writer and the reader`, () => {
		const full = filling(MAX_INTRODUCTION_BYTES);
		const bytes = writeIntroduction(full);
		expect(bytes).toHaveLength(MAX_INTRODUCTION_BYTES);
		expect(readIntroduction(bytes)).toEqual(full);
		const over = filling(MAX_INTRODUCTION_BYTES + 1);
		refused(() => writeIntroduction(over), 'introduction too large');
		refused(() => readIntroduction(introduction(over.deviceList, over.heartbeat)), 'introduction too large');
	});

	it('without a heartbeat, or with an empty one, a device reads none; an empty list is split back as empty', () => {
		const list = writeDeviceList(SMALLEST, SECRET);
		expect(readIntroduction(writeIntroduction({ deviceList: list }))).toEqual({ deviceList: list, heartbeat: undefined });
		expect(readIntroduction(writeIntroduction({ deviceList: list, heartbeat: new Uint8Array(0) }))).toEqual({ deviceList: list, heartbeat: undefined });
		expect(readIntroduction(writeIntroduction({ deviceList: new Uint8Array(0) }))).toEqual({ deviceList: new Uint8Array(0), heartbeat: undefined });
	});

	it('refuses every cut of a real introduction and strange shapes: formats, bytes after, lengths past the end or past 2^53 − 1', () => {
		const list = writeDeviceList(SMALLEST, SECRET);
		const heartbeat = writeHeartbeat({ accountKey: ACCOUNT_KEY, time: MAX }, SECRET);
		const bytes = writeIntroduction({ deviceList: list, heartbeat });
		expect(bytes).toEqual(introduction(list, heartbeat));
		for (let length = 0; length < bytes.length; length++) refused(() => readIntroduction(bytes.subarray(0, length)));
		const strange: [string, Uint8Array, string?][] = [
			['nothing at all', new Uint8Array(0), 'unknown format'],
			['format 0', introduction(list, heartbeat, 0), 'unknown format'],
			['format 2', introduction(list, heartbeat, 2), 'unknown format'],
			['a byte after the heartbeat', concatBytes(bytes, Uint8Array.of(0)), 'trailing bytes'],
			['a list length past the end', concatBytes(Uint8Array.of(1), varUint(bytes.length), bytes.subarray(1 + varUint(list.length).length))],
			['a heartbeat length past the end', concatBytes(Uint8Array.of(1), varUint(list.length), list, varUint(heartbeat.length + 1), heartbeat)],
			['a list length of 2^53 − 1', concatBytes(Uint8Array.of(1), varUint(MAX), list)],
			['a list length that overflows a varuint', concatBytes(Uint8Array.of(1), OVERFLOWING_VARUINT, list)]
		];
		for (const [what, input, reason] of strange) refused(() => readIntroduction(input), reason, what);
		expect(readIntroduction(bytes)).toEqual({ deviceList: list, heartbeat });
	});
});
