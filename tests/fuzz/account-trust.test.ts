/**
 * AccountTrust.consider, on the primary and on a companion, against introductions a peer or the
 * mailbox could carry: it returns true or false and never throws, and the device list version it
 * holds never goes down. Besides random and mutated introductions, device lists and heartbeats are
 * re-signed with the real account key after mutating their bodies or their fields (version, epoch,
 * devices, roles, the deleted flag), so that adoption itself is exercised, not only the signature
 * check. A target that adopted a list without itself on it logs out, as it should; it is then
 * restored from its record as it was before the fuzz and the fuzz goes on.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { concatBytes, KEY_BYTES } from '../../src/lib/crypto';
import { AccountTrust } from '../../src/lib/identity/account-trust';
import type { DeviceKeys } from '../../src/lib/identity/device-keys';
import {
	DEVICE_LIST_PURPOSE,
	HEARTBEAT_PURPOSE,
	MAX_DEVICE_LIST_BYTES,
	MAX_HEARTBEAT_BYTES,
	readIntroduction,
	readSignedDeviceList,
	writeDeviceList,
	writeHeartbeat,
	writeIntroduction,
	type DeviceList
} from '../../src/lib/protocol/trust';
import { MemoryKeyValueStore } from '../../src/lib/storage/memory';
import { bodyOf, clock, makeAccount, NOW, reachesSignatureCheck, signed, type Account } from './accounts';
import { fuzzAsync, fuzzSeed, logReport, mutate, randomBytesInput, seededRandom, seedPlatformRandomness, varUint, type Random } from './fuzz';

const SIGNED = 1_200;
const MUTATED = 500;
const TOTAL = 10_000;

/** A device's trust, and its record as saved before the fuzz, to restore it from after it logs out. */
interface Target {
	name: string;
	keys: DeviceKeys;
	record: unknown;
	trust: AccountTrust;
}

async function restore(target: Target): Promise<void> {
	const records = new MemoryKeyValueStore();
	await records.set('trust', target.record);
	target.trust = (await AccountTrust.restore(records, target.keys, clock))!;
}

async function targetOf(name: string, keys: DeviceKeys, records: MemoryKeyValueStore): Promise<Target> {
	const target: Target = { name, keys, record: await records.get('trust'), trust: undefined! };
	await restore(target);
	return target;
}

/** Whether consider would verify a signature over this introduction: kept few, as verification is slow. */
function verifiesSomething(introduction: Uint8Array): boolean {
	try {
		const parts = readIntroduction(introduction);
		return reachesSignatureCheck(parts.deviceList, MAX_DEVICE_LIST_BYTES) || (!!parts.heartbeat && reachesSignatureCheck(parts.heartbeat, MAX_HEARTBEAT_BYTES));
	} catch {
		return false;
	}
}

/** Field-level changes to a real list, signed with the account key: what adoption has to weigh. */
function changedList(random: Random, list: DeviceList, secret: Uint8Array, current: number): Uint8Array {
	const devices = [...list.devices];
	const epochBoxes = [...list.epochBoxes];
	// Newer than the target's list by default, so that most changes are weighed rather than refused as old.
	const changed: DeviceList = { ...list, version: current + random.between(1, 3), devices, epochBoxes, former: [...list.former] };
	const edits = random.between(1, 3);
	for (let edit = 0; edit < edits; edit++) {
		switch (random.below(8)) {
			case 0:
				changed.version = random.pick([1, current - 1, current, current + 1, current + 100]);
				break;
			case 1:
				changed.epoch = random.pick([1, list.epoch - 1 || 1, list.epoch + 1, 2 ** 20]);
				break;
			case 2:
				if (devices.length > 1) {
					const at = random.between(1, devices.length - 1);
					devices.splice(at, 1);
					epochBoxes.splice(at, 1);
				}
				break;
			case 3:
				devices.reverse();
				epochBoxes.reverse();
				break;
			case 4:
				changed.deleted = !changed.deleted;
				break;
			case 5:
				if (devices.length > 1) {
					const at = random.between(1, devices.length - 1);
					devices[at] = { ...devices[at]!, name: random.pick(['Renamed', 'x'.repeat(64), 'é😀']), kind: random.pick(['phone', 'tablet', 'computer'] as const) };
				}
				break;
			case 6:
				epochBoxes[random.below(epochBoxes.length)] = mutate(random, epochBoxes[0]!);
				break;
			default:
				changed.former = [...changed.former, { id: 'CCCCCCCCCCCCCCCCCCCCCC', name: 'Gone' }];
				break;
		}
	}
	changed.version = Math.max(1, changed.version);
	try {
		return writeDeviceList(changed, secret);
	} catch {
		return writeDeviceList({ ...list, version: list.version + 1 }, secret);
	}
}

/** Inputs for two targets; `version(target)` is the target's list version when the input is made. */
function* considerInputs(random: Random, account: Account, reach: { signed: number }, version: (target: number) => number): Generator<{ target: number; introduction: Uint8Array }> {
	const secret = account.primaryKeys.signing.secretKey;
	const accountKey = account.primaryKeys.signing.publicKey;
	const { introductions, lists, heartbeats } = account;
	const parsedLists = lists.map((list) => readSignedDeviceList(list));
	const listBodies = lists.map(bodyOf);
	const heartbeatBodies = heartbeats.map(bodyOf);
	const labels = [...Array<string>(SIGNED).fill('signed'), ...Array<string>(MUTATED).fill('mutated')];
	while (labels.length < TOTAL) labels.push('cheap');
	for (let i = labels.length - 1; i > 0; i--) {
		const j = random.below(i + 1);
		[labels[i], labels[j]] = [labels[j]!, labels[i]!];
	}
	const heartbeat = (r: Random): Uint8Array | undefined =>
		r.pick([
			undefined,
			r.pick(heartbeats),
			writeHeartbeat({ accountKey, time: r.pick([NOW - 1, NOW + 1, NOW + 2 * 24 * 3600 * 1000, 0]) }, secret),
			signed(secret, HEARTBEAT_PURPOSE, concatBytes(heartbeatBodies[0]!.subarray(0, 1 + KEY_BYTES), mutate(r, heartbeatBodies[0]!.subarray(1 + KEY_BYTES)))),
			r.bytes(r.below(100))
		]);
	const cheap = (r: Random): Uint8Array => {
		switch (r.below(4)) {
			case 0:
				return randomBytesInput(r, 600, [1, 0, 2]);
			case 1:
				return mutate(r, r.pick(introductions), [...introductions, ...lists]);
			case 2:
				return writeIntroduction({ deviceList: mutate(r, r.pick(lists)), heartbeat: r.chance(0.5) ? mutate(r, r.pick(heartbeats)) : undefined });
			default:
				return concatBytes(Uint8Array.of(1), varUint(r.pick([0, 1, 2 ** 31, 2 ** 53 - 1])), r.bytes(r.below(40)));
		}
	};
	for (const label of labels) {
		const target = random.below(2);
		if (label === 'signed') {
			reach.signed++;
			const deviceList = random.chance(0.5)
				? changedList(random, random.pick(parsedLists), secret, version(target))
				: (() => {
						const body = random.pick(listBodies);
						return signed(secret, DEVICE_LIST_PURPOSE, concatBytes(body.subarray(0, 1 + KEY_BYTES), mutate(random, body.subarray(1 + KEY_BYTES), listBodies)));
					})();
			yield { target, introduction: writeIntroduction({ deviceList, heartbeat: random.chance(0.3) ? heartbeat(random) : undefined }) };
		} else if (label === 'mutated') {
			yield { target, introduction: mutate(random, random.pick(introductions), introductions) };
		} else {
			let introduction = cheap(random);
			while (verifiesSomething(introduction)) introduction = cheap(random);
			yield { target, introduction };
		}
	}
}

describe('fuzz: AccountTrust.consider', () => {
	let account: Account;
	const seed = fuzzSeed(0xac7_6001);

	beforeAll(async () => {
		seedPlatformRandomness(seededRandom(seed));
		account = await makeAccount();
		vi.restoreAllMocks();
	});
	afterEach(() => vi.restoreAllMocks());

	it('returns true or false, never throws, and never takes the device list version back', async () => {
		const random = seededRandom(seed + 1);
		const targets = [await targetOf('primary', account.primaryKeys, account.primaryRecords), await targetOf('companion', account.companionKeys, account.companionRecords)];
		const reach = { signed: 0 };
		let changed = 0;
		let restored = 0;
		const versions = targets.map((target) => target.trust.deviceList.version);
		const report = await fuzzAsync({
			suite: 'AccountTrust.consider',
			seed,
			inputs: considerInputs(random, account, reach, (target) => targets[target]!.trust.deviceList.version),
			allowed: [],
			show: ({ target, introduction }) => `${targets[target]!.name}: ${Buffer.from(introduction).toString('hex')}`,
			run: async ({ target, introduction }) => {
				const trust = targets[target]!.trust;
				const before = trust.deviceList.version;
				const result = trust.consider(introduction);
				const after = trust.deviceList.version;
				if (trust.loggedOut) {
					await restore(targets[target]!);
					restored++;
				}
				return { result, before, after };
			},
			check: (value, { target }) => {
				const { result, before, after } = value as { result: unknown; before: number; after: number };
				expect(typeof result).toBe('boolean');
				expect(after).toBeGreaterThanOrEqual(before);
				expect(after).toBeGreaterThanOrEqual(versions[target]!);
				if (result) changed++;
			}
		});
		logReport('AccountTrust.consider', report, `${reach.signed} re-signed with the account key, ${changed} adopted something, ${restored} logged out and restored`);
		expect(report.inputs).toBe(TOTAL);
		expect(changed).toBeGreaterThan(0);
	});
});
