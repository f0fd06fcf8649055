/**
 * A real account to fuzz the signed statements of (src/lib/protocol/trust.ts) and the trust that
 * weighs them (src/lib/identity/account-trust.ts): a primary and two linked companions, made through
 * AccountTrust as the app makes them, with a fixed clock. Call seedPlatformRandomness first, so that
 * the keys and epoch secrets come out the same for a seed.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { concatBytes, KEY_BYTES, sign, SIGNATURE_BYTES } from '../../src/lib/crypto';
import { AccountTrust } from '../../src/lib/identity/account-trust';
import { generateDeviceKeys, type DeviceKeys } from '../../src/lib/identity/device-keys';
import {
	readIntroduction,
	readSignedDeviceList,
	writeDeviceList,
	writeHeartbeat,
	writeIntroduction,
	writeLeavingNote
} from '../../src/lib/protocol/trust';
import { MemoryKeyValueStore } from '../../src/lib/storage/memory';

export const NOW = 1_750_000_000_000;
export const clock = () => NOW;

export interface Account {
	primaryKeys: DeviceKeys;
	companionKeys: DeviceKeys;
	primary: AccountTrust;
	companion: AccountTrust;
	/** Where each saves its record. */
	primaryRecords: MemoryKeyValueStore;
	companionRecords: MemoryKeyValueStore;
	/** Signed device lists: versions 1 to 3 as linking made them, and a version 4 with former devices. */
	lists: Uint8Array[];
	heartbeats: Uint8Array[];
	/** The companion's own leaving notes. */
	notes: Uint8Array[];
	introductions: Uint8Array[];
}

export async function makeAccount(): Promise<Account> {
	const primaryKeys = generateDeviceKeys();
	const companionKeys = generateDeviceKeys();
	const tabletKeys = generateDeviceKeys();
	const primaryRecords = new MemoryKeyValueStore();
	const companionRecords = new MemoryKeyValueStore();
	const primary = await AccountTrust.create(primaryRecords, primaryKeys, clock, 'Laptop', 'computer');
	const first = primary.introduction();
	const { deviceList: second } = primary.linkDevice({ signKey: companionKeys.signing.publicKey, agreeKey: companionKeys.agreement.publicKey, name: 'Phone', kind: 'phone' });
	const companion = await AccountTrust.join(companionRecords, companionKeys, clock, second, primary.freshHeartbeat());
	const { deviceList: third } = primary.linkDevice({ signKey: tabletKeys.signing.publicKey, agreeKey: tabletKeys.agreement.publicKey, name: 'Tablet', kind: 'tablet' });
	const secret = primaryKeys.signing.secretKey;
	const accountKey = primaryKeys.signing.publicKey;
	const withFormer = writeDeviceList(
		{
			...readSignedDeviceList(third),
			version: 4,
			former: [
				{ id: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'Old phone' },
				{ id: 'BBBBBBBBBBBBBBBBBBBBBB', name: 'é😀' }
			]
		},
		secret
	);
	const heartbeats = [primary.freshHeartbeat(), writeHeartbeat({ accountKey, time: 0 }, secret), writeHeartbeat({ accountKey, time: NOW + 1 }, secret)];
	const notes = [companion.leavingNote(), writeLeavingNote({ accountKey, deviceId: 'x'.repeat(32) }, companionKeys.signing.secretKey)];
	const lists = [readIntroduction(first).deviceList, second, third, withFormer];
	const introductions = [first, primary.introduction(), companion.introduction(), writeIntroduction({ deviceList: withFormer, heartbeat: heartbeats[0] })];
	await Promise.all([primary.save(), companion.save()]);
	return { primaryKeys, companionKeys, primary, companion, primaryRecords, companionRecords, lists, heartbeats, notes, introductions };
}

/** [body: varbytes][signature: 64], as the writers lay out every signed statement. */
export function signed(secret: Uint8Array, purpose: string, body: Uint8Array): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint8Array(encoder, body);
	return concatBytes(encoding.toUint8Array(encoder), sign(secret, purpose, body));
}

export function bodyOf(statement: Uint8Array): Uint8Array {
	return decoding.readVarUint8Array(decoding.createDecoder(statement)).slice();
}

/**
 * Whether the readers would get as far as checking a signature over `bytes` (Ed25519 verification
 * is the slow part): within `maxBytes`, a body then exactly 64 bytes, the body in format 1 with room
 * for a key. What fails before is cheap, as most of what an attacker sends.
 */
export function reachesSignatureCheck(bytes: Uint8Array, maxBytes: number): boolean {
	if (bytes.length > maxBytes) return false;
	try {
		const decoder = decoding.createDecoder(bytes);
		const body = decoding.readVarUint8Array(decoder);
		return bytes.length - decoder.pos === SIGNATURE_BYTES && body.length >= 1 + KEY_BYTES && body[0] === 1;
	} catch {
		return false;
	}
}
