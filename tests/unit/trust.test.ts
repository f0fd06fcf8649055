import { afterEach, describe, expect, it } from 'vitest';
import { AccountTrust, MAX_CLOCK_SKEW_MS } from '../../src/lib/identity/account-trust';
import { generateDeviceKeys, type DeviceKeys } from '../../src/lib/identity/device-keys';
import {
	readIntroduction,
	readSignedDeviceList,
	readSignedHeartbeat,
	TrustFormatError,
	writeDeviceList,
	writeHeartbeat,
	writeIntroduction
} from '../../src/lib/protocol/trust';
import { LinkError } from '../../src/lib/protocol/link';
import { LinkApproval } from '../../src/lib/linking/approval';
import { LinkInvitation } from '../../src/lib/linking/invitation';
import type { Session } from '../../src/lib/session';
import { MemoryKeyValueStore } from '../../src/lib/storage/memory';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { activityMap } from '../../src/lib/account/document';
import { linkedAccount } from '../helpers/devices';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const MINUTE = 60 * 1000;

const open: Session[] = [];
afterEach(async () => {
	await Promise.all(open.splice(0).map((session) => session.close()));
});

/** A primary's trust and one companion's, the companion joined through the statements a link carries. */
async function primaryAndCompanion(clock: () => number): Promise<{ primary: AccountTrust; companion: AccountTrust; companionKeys: DeviceKeys; primaryKeys: DeviceKeys }> {
	const primaryKeys = generateDeviceKeys();
	const primary = await AccountTrust.create(new MemoryKeyValueStore(), primaryKeys, clock, 'Laptop', 'computer');
	const companionKeys = generateDeviceKeys();
	const { deviceList } = primary.linkDevice({ signKey: companionKeys.signing.publicKey, agreeKey: companionKeys.agreement.publicKey, name: 'Phone', kind: 'phone' });
	const companion = await AccountTrust.join(new MemoryKeyValueStore(), companionKeys, clock, deviceList, primary.freshHeartbeat());
	return { primary, companion, companionKeys, primaryKeys };
}

describe('the signed device list', () => {
	it('round-trips, and every device id is derived from its keys', async () => {
		const { primary, companionKeys } = await primaryAndCompanion(Date.now);
		const list = readSignedDeviceList(readIntroduction(primary.introduction()).deviceList);
		expect(list.version).toBe(2);
		expect(list.devices.map((d) => [d.name, d.role])).toEqual([
			['Laptop', 'primary'],
			['Phone', 'companion']
		]);
		expect(list.devices[1]!.id).toBe(companionKeys.id);
	});

	it('refuses a list with any byte changed, and one signed by a key other than the one it names', async () => {
		const { primary } = await primaryAndCompanion(Date.now);
		const bytes = readIntroduction(primary.introduction()).deviceList;
		for (const index of [3, 40, bytes.length - 70, bytes.length - 1]) {
			const tampered = bytes.slice();
			tampered[index]! ^= 1;
			expect(() => readSignedDeviceList(tampered)).toThrow(TrustFormatError);
		}
		const list = readSignedDeviceList(bytes);
		const stranger = generateDeviceKeys();
		// Claims the account's key, signed by another: the signature does not verify.
		expect(() => readSignedDeviceList(writeDeviceList(list, stranger.signing.secretKey))).toThrow(TrustFormatError);
	});

	it('a companion cannot make a list the others trust: not as itself, not in the account key\'s name', async () => {
		const { primary, companion, companionKeys } = await primaryAndCompanion(Date.now);
		const list = readSignedDeviceList(readIntroduction(primary.introduction()).deviceList);
		const promoted = { ...list, version: 99, devices: list.devices.map((d) => ({ ...d, role: d.id === companionKeys.id ? ('primary' as const) : ('companion' as const) })) };
		const asItself = writeDeviceList({ ...promoted, accountKey: companionKeys.signing.publicKey }, companionKeys.signing.secretKey);
		const inTheAccountsName = writeDeviceList(promoted, companionKeys.signing.secretKey);
		const filled = writeDeviceList({ ...list, version: 99, former: [] }, companionKeys.signing.secretKey);
		for (const forged of [asItself, inTheAccountsName, filled]) {
			expect(primary.consider(writeIntroduction({ deviceList: forged }))).toBe(false);
		}
		expect(primary.deviceList.version).toBe(2);
		expect(primary.isPrimary).toBe(true);
		expect(companion.isPrimary).toBe(false);
		expect(primary.securityEvents.map((event) => event.kind)).toEqual(expect.arrayContaining(['foreign-list', 'unsigned-list']));
	});

	it('adopts a newer list, refuses a replayed older one and logs it when it comes from the mailbox', async () => {
		const { primary, companion } = await primaryAndCompanion(Date.now);
		const older = primary.introduction();
		const third = generateDeviceKeys();
		primary.linkDevice({ signKey: third.signing.publicKey, agreeKey: third.agreement.publicKey, name: 'Tablet', kind: 'tablet' });
		expect(companion.consider(primary.introduction())).toBe(true);
		expect(companion.deviceList.version).toBe(3);
		expect(companion.notices.map((notice) => notice.name)).toEqual(['Tablet']);
		// A peer that was away shows the list it still has: refused, and no alarm.
		expect(companion.consider(older, 'peer')).toBe(false);
		expect(companion.securityEvents).toEqual([]);
		expect(companion.consider(older)).toBe(false);
		expect(companion.deviceList.version).toBe(3);
		expect(companion.securityEvents[0]?.kind).toBe('older-list');
	});

	it('a device that finds itself missing from a newer list logs itself out', async () => {
		const { primary, companion, companionKeys } = await primaryAndCompanion(Date.now);
		primary.removeDevices([companionKeys.id]);
		const loggedOut = new Promise((resolve) => companion.on('logged-out', resolve));
		companion.consider(primary.introduction());
		expect(await loggedOut).toBe('removed');
	});

	it('is refused whole when it names a primary other than the account key, or a device twice', async () => {
		const { primary, primaryKeys } = await primaryAndCompanion(Date.now);
		const list = readSignedDeviceList(readIntroduction(primary.introduction()).deviceList);
		const signedByAccount = (changed: typeof list) => writeDeviceList(changed, primaryKeys.signing.secretKey);
		// Validly signed by the account key, and still not a list any device accepts.
		const twoPrimaries = signedByAccount({ ...list, devices: list.devices.map((d) => ({ ...d, role: 'primary' as const })) });
		const noPrimary = signedByAccount({ ...list, devices: list.devices.map((d) => ({ ...d, role: 'companion' as const })) });
		const twice = signedByAccount({ ...list, devices: [...list.devices, list.devices[1]!], epochBoxes: [...list.epochBoxes, list.epochBoxes[1]!] });
		for (const bytes of [twoPrimaries, noPrimary, twice]) expect(() => readSignedDeviceList(bytes)).toThrow(TrustFormatError);
		expect(() => readSignedDeviceList(signedByAccount(list))).not.toThrow();
	});
});

describe('the 14-day rule', () => {
	it('keeps a companion at 13 days 23 hours without the primary and logs it out at 14 days and a minute', async () => {
		let now = Date.UTC(2026, 10, 1);
		const { companion } = await primaryAndCompanion(() => now);
		let loggedOut: string | undefined;
		companion.on('logged-out', (reason) => (loggedOut = reason));
		now += 12 * DAY + HOUR;
		expect(companion.absence()).toMatchObject({ warn: true, daysLeft: 2 });
		now += DAY + 22 * HOUR;
		expect(companion.absence()).toMatchObject({ warn: true, daysLeft: 1 });
		expect(loggedOut).toBeUndefined();
		now += HOUR + MINUTE;
		companion.absence();
		expect(loggedOut).toBe('primary-inactive');
	});

	it('starts again from each newer heartbeat of the primary', async () => {
		let now = Date.UTC(2026, 10, 1);
		const { primary, companion } = await primaryAndCompanion(() => now);
		now += 13 * DAY;
		expect(primary.writeHeartbeat()).toBe(true);
		expect(companion.consider(primary.introduction())).toBe(true);
		expect(companion.absence()).toMatchObject({ warn: false, daysLeft: 14 });
		now += 10 * MINUTE;
		// At most one heartbeat an hour.
		expect(primary.writeHeartbeat()).toBe(false);
	});

	it('refuses a heartbeat stamped more than a day ahead of its own clock, and a forged one', async () => {
		let now = Date.UTC(2026, 10, 1);
		const { primary, companion, primaryKeys } = await primaryAndCompanion(() => now);
		const accountKey = primary.accountKey;
		const fromFuture = writeHeartbeat({ accountKey, time: now + MAX_CLOCK_SKEW_MS + MINUTE }, primaryKeys.signing.secretKey);
		const deviceList = readIntroduction(primary.introduction()).deviceList;
		expect(companion.consider(writeIntroduction({ deviceList, heartbeat: fromFuture }))).toBe(false);
		expect(companion.securityEvents[0]?.kind).toBe('heartbeat-from-future');
		const forged = writeHeartbeat({ accountKey, time: now + HOUR }, generateDeviceKeys().signing.secretKey);
		expect(() => readSignedHeartbeat(forged)).toThrow(TrustFormatError);
		expect(companion.consider(writeIntroduction({ deviceList, heartbeat: forged }))).toBe(false);
		expect(companion.securityEvents[0]?.kind).toBe('bad-heartbeat');
		// Within the skew, it counts, from its own time.
		now += HOUR;
		const slightlyAhead = writeHeartbeat({ accountKey, time: now + 12 * HOUR }, primaryKeys.signing.secretKey);
		expect(companion.consider(writeIntroduction({ deviceList, heartbeat: slightlyAhead }))).toBe(true);
		expect(companion.heartbeatTime).toBe(now + 12 * HOUR);
	});

	it('a clock set back does not undo time already counted, and time counts on after it', async () => {
		let now = Date.UTC(2026, 10, 1);
		const { companion } = await primaryAndCompanion(() => now);
		let loggedOut: string | undefined;
		companion.on('logged-out', (reason) => (loggedOut = reason));
		now += 10 * DAY;
		companion.absence();
		now -= 365 * DAY;
		expect(companion.absence().counted).toBe(10 * DAY);
		now += 4 * DAY + MINUTE;
		companion.absence();
		expect(loggedOut).toBe('primary-inactive');
	});

	it('a clock set far ahead logs the companion out rather than keeping it in', async () => {
		let now = Date.UTC(2026, 10, 1);
		const { companion } = await primaryAndCompanion(() => now);
		now += 400 * DAY;
		companion.absence();
		expect(companion.loggedOut).toBe('primary-inactive');
	});

	it('never applies to the primary', async () => {
		let now = Date.UTC(2026, 10, 1);
		const { primary } = await primaryAndCompanion(() => now);
		now += 100 * DAY;
		expect(primary.absence()).toEqual({ counted: 0, warn: false });
		expect(primary.loggedOut).toBeUndefined();
	});

	it('a whole session: the companion shows the warning, then logs itself out and keeps nothing', async () => {
		let now = Date.UTC(2026, 10, 1);
		const network = new MemoryNetwork();
		const [primary, phone] = await linkedAccount(network, 1, { clock: () => now });
		open.push(primary!);
		await primary!.close();
		now += 12 * DAY + MINUTE;
		phone!.check();
		expect(phone!.absence).toMatchObject({ warn: true, daysLeft: 2 });
		const reason = new Promise((resolve) => phone!.on('logged-out', resolve));
		now += 2 * DAY;
		phone!.check();
		expect(await reason).toBe('primary-inactive');
		expect(phone!.loggedOut).toBe('primary-inactive');
	});
});

describe('what a companion may change', () => {
	it('writes nothing that others trust by editing the account documents, and cannot link devices', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 2, { connected: true });
		open.push(...sessions);
		const [primary, phone, tablet] = sessions as [Session, Session, Session];
		// What used to be the device list: a map in the account document. Writing it changes nothing.
		const account = (phone as unknown as { account: import('yjs').Doc }).account;
		account.getMap('devices').set(phone.self.id, { id: phone.self.id, role: 'primary', name: 'Boss' });
		for (let i = 0; i < 10; i++) account.getMap('devices').set(`fake${i}`, { id: `fake${i}`, role: 'companion', name: 'fake' });
		activityMap(account).set('fake-device', Date.now());
		await new Promise((resolve) => setTimeout(resolve, 50));
		for (const session of sessions) {
			expect(session.devices.map((d) => [d.name, d.role])).toEqual([
				['Laptop', 'primary'],
				['Phone 1', 'companion'],
				['Phone 2', 'companion']
			]);
		}
		expect(primary.isFull).toBe(false);
		expect(phone.isPrimary).toBe(false);
		const invitation = new LinkInvitation('Other', 'phone', (room) => network.transport(room), Date.now);
		expect(() => new LinkApproval(invitation.payload, tablet, (room) => network.transport(room), Date.now)).toThrow(new LinkError('not-primary'));
		invitation.cancel();
	});
});
