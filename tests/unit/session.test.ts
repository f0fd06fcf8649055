import { afterEach, describe, expect, it } from 'vitest';
import { concatBytes, generateAgreementKeyPair, randomBytes, toBase64Url } from '../../src/lib/crypto';
import { leavingMap } from '../../src/lib/account/document';
import { writeLeavingNote } from '../../src/lib/protocol/trust';
import type { RoomKeys } from '../../src/lib/identity/epochs';
import { generateDeviceKeys } from '../../src/lib/identity/device-keys';
import * as Y from 'yjs';
import { INTRODUCTION_ENTRY_ID, openMailboxEntry, sealMailboxEntry } from '../../src/lib/protocol/mailbox-entry';
import { Session } from '../../src/lib/session';
import { MemoryKeyValueStore } from '../../src/lib/storage/memory';
import { MemoryNetwork, type MemoryTransport } from '../../src/lib/transport/memory';
import { SecureChannel, type SessionPolicy } from '../../src/lib/transport/peer-session';
import type { MailboxEntry, PeerId } from '../../src/lib/transport/types';
import { linkedAccount, linkThroughHandshake, memoryPlatform, texts, until } from '../helpers/devices';

const open: Session[] = [];
afterEach(async () => {
	await Promise.all(open.splice(0).map((session) => session.close()));
});

const settle = (ms = 60) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check` holds, looking again every 20 ms for up to 5 s. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
	for (let tries = 0; tries < 250; tries++) {
		if (await check()) return;
		await settle(20);
	}
	throw new Error('condition not reached in time');
}

function prologueFor(room: string): Uint8Array {
	return concatBytes(new TextEncoder().encode('samen/v1/session'), new TextEncoder().encode(room));
}

/** A peer with whatever keys an attacker has, that would accept anyone. */
function attackerChannel(transport: MemoryTransport, psk: Uint8Array, staticKeys = generateAgreementKeyPair()): SecureChannel {
	const policy: SessionPolicy = {
		staticKeys,
		psk,
		prologue: prologueFor(transport.room),
		introduction: () => new Uint8Array([1, 0, 0]),
		admit: () => ({ account: 'attacker', device: 'attacker' })
	};
	return new SecureChannel(transport, policy);
}

/** What a device joining `room` now would find in the mailbox. */
async function mailboxEntries(network: MemoryNetwork, room: string): Promise<MailboxEntry[]> {
	const probe = network.transport(room);
	const seen: MailboxEntry[] = [];
	probe.on('mailbox', (entries) => seen.push(...entries));
	probe.connect();
	await settle(20);
	probe.close();
	return seen;
}

describe('peer sessions authenticate devices', () => {
	it('a keyless peer that echoes every frame back is never a peer, and the device keeps using the mailbox', async () => {
		const network = new MemoryNetwork();
		const [primary] = await linkedAccount(network, 1);
		open.push(primary!);
		const room = primary!.meetingRoom.room;
		const echo = network.transport(room);
		echo.on('message', ({ peer, data }) => echo.send(peer, data));
		echo.connect();
		primary!.connect();
		await until([primary!], () => primary!.rejectedFrames > 0);
		await primary!.chats.send('self', 'written alone');
		const mailboxKey = primary!.trust.currentEpoch.mailboxKey;
		const depositedTopics = async () =>
			(await mailboxEntries(network, room))
				.filter((entry) => entry.id !== INTRODUCTION_ENTRY_ID)
				.map((entry) => openMailboxEntry(mailboxKey, room, entry.data))
				.map((content) => (content.kind === 'update' ? content.topic : content.kind));
		await eventually(async () => (await depositedTopics()).some((topic) => topic.startsWith('chat/self/')));
		expect(primary!.connection.peers).toBe(0);
	});

	it('two keyless peers wired to each other cannot make a device talk to itself', async () => {
		const network = new MemoryNetwork();
		const [primary] = await linkedAccount(network, 1);
		open.push(primary!);
		primary!.connect();
		const room = primary!.meetingRoom.room;
		const left = network.transport(room);
		const right = network.transport(room);
		// Whatever the device sends to one, the other hands back to it as its own.
		const device = (transport: MemoryTransport, other: MemoryTransport) => [...transport.peers].filter((peer) => peer !== other.id);
		left.on('message', ({ peer, data }) => peer !== right.id && device(right, left).forEach((to) => right.send(to, data)));
		right.on('message', ({ peer, data }) => peer !== left.id && device(left, right).forEach((to) => left.send(to, data)));
		left.connect();
		right.connect();
		// Both start a handshake with a fresh key of their own, as keyless attackers can.
		for (const transport of [left, right]) attackerChannel(transport, randomBytes(32));
		await settle(100);
		expect(primary!.connection.peers).toBe(0);
		expect(primary!.rejectedFrames).toBeGreaterThan(0);
	});

	it('refuses a listed device of another account, and a key that is on no list even with the epoch key', async () => {
		const network = new MemoryNetwork();
		const [primary, phone] = await linkedAccount(network, 1);
		const [other] = await linkedAccount(network, 0);
		open.push(primary!, phone!, other!);
		primary!.connect();
		const room = primary!.meetingRoom.room;
		// The other account's device, with its own keys and epoch, pointed at this account's room.
		const foreign = attackerChannel(network.transport(room), other!.trust.currentEpoch.sessionPsk, other!.keys.agreement);
		// A stolen epoch key but a device key the primary never listed (a former device's position).
		const unlisted = attackerChannel(network.transport(room), primary!.trust.currentEpoch.sessionPsk);
		foreign.transport.connect();
		unlisted.transport.connect();
		const seen: Uint8Array[] = [];
		for (const channel of [foreign, unlisted]) channel.on('message', ({ data }) => seen.push(data));
		await settle(100);
		expect(primary!.connection.peers).toBe(0);
		expect(primary!.securityEvents.map((event) => event.kind)).toContain('unlisted-device');
		phone!.connect();
		await until([primary!], () => primary!.connection.syncedPeers === 1);
		await primary!.chats.send('self', 'only for my devices');
		await until([phone!], () => texts(phone!).includes('only for my devices'));
		expect(seen).toEqual([]);
	});
});

describe('logging a device out', () => {
	it('a device taken off the list before its first history came is told its link did not finish', async () => {
		const network = new MemoryNetwork();
		const [primary] = (await linkedAccount(network, 0, { connected: true })) as [Session];
		open.push(primary);
		const platform = memoryPlatform(network);
		// As when the connection is lost after the primary handed the account over: the new device has
		// the account, the primary never heard back and took it off again.
		const phone = await Session.join(platform, await linkThroughHandshake(primary, platform.transport, (room) => network.transport(room), 'Phone'));
		open.push(phone);
		primary.removeDevice(phone.self.id);
		const reason = new Promise((resolve) => phone.on('logged-out', resolve));
		phone.connect();
		expect(await reason).toBe('link-unfinished');
		expect(phone.loggedOut).toBe('link-unfinished');
	});

	it('while it is online: it wipes itself at once, the others move to a new epoch and go on', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 2, { connected: true });
		open.push(...sessions);
		const [primary, phone, tablet] = sessions as [Session, Session, Session];
		const oldRoom = primary.meetingRoom.room;
		const reason = new Promise((resolve) => tablet.on('logged-out', resolve));
		primary.removeDevice(tablet.self.id);
		expect(await reason).toBe('removed');
		expect(await tablet['platform'].records.get('trust')).toBeUndefined();
		await until([phone], () => phone.trust.currentEpoch.epoch === 2 && phone.connection.syncedPeers === 1);
		expect(phone.meetingRoom.room).not.toBe(oldRoom);
		expect(phone.devices.map((d) => d.name)).toEqual(['Laptop', 'Phone 1']);
		await phone.chats.send('self', 'after the tablet left');
		await until([primary], () => texts(primary).includes('after the tablet left'));
	});

	it('what a removed device leaves in its former room\'s mailbox is never applied by a device that moved on', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 2, { connected: true });
		open.push(...sessions);
		const [primary, phone, removed] = sessions as [Session, Session, Session];
		await primary.chats.send('self', 'this month');
		await until([phone], () => texts(phone).includes('this month'));
		const oldKeys = removed.meetingRoom;
		primary.removeDevice(removed.self.id);
		await until([phone], () => phone.trust.currentEpoch.epoch === 2);
		// With every key it had, the removed device writes a message into the former room's mailbox.
		const forged = new Y.Doc();
		const month = new Date().toISOString().slice(0, 7);
		forged.getMap('messages').set('forged-1', { id: 'forged-1', chatId: 'self', author: phone.self.id, text: 'injected after removal', sentAt: Date.now() });
		const writer = network.transport(oldKeys.room, oldKeys.roomAuth);
		writer.connect();
		const sealed = sealMailboxEntry(oldKeys.mailboxKey, oldKeys.room, { kind: 'update', topic: `chat/self/${month}`, update: Y.encodeStateAsUpdate(forged) });
		expect(await writer.mailbox.deposit({ id: 'forged-entry-01', data: sealed })).toBe(true);
		writer.close();
		// The phone's link to the server drops and comes back: the former room, still open as a
		// handover room, hands it the mailbox again. Nothing in it is applied.
		const handover = (phone as unknown as { handover: { transport: MemoryTransport }[] }).handover[0]!.transport;
		handover.close();
		handover.connect();
		await settle(100);
		expect(texts(phone)).not.toContain('injected after removal');
		expect(texts(primary)).not.toContain('injected after removal');
	});

	it('a removed device that kept every key opens nothing written after, and cannot find or join the new room', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 2);
		open.push(...sessions);
		const [primary, phone, stolen] = sessions as [Session, Session, Session];
		// Everything the removed device ever held, as an attacker who copied its storage would have it.
		const keptEpochs: RoomKeys[] = [stolen.meetingRoom];
		const keptKeys = stolen.keys;
		await stolen.close();
		open.splice(open.indexOf(stolen), 1);
		primary.connect();
		primary.removeDevice(stolen.self.id);
		await until([primary], () => primary.trust.currentEpoch.epoch === 2);
		await primary.chats.send('self', 'after the removal');
		const newRoom = primary.meetingRoom.room;
		await eventually(async () => (await mailboxEntries(network, newRoom)).length > 1);
		expect(keptEpochs.map((keys) => keys.room)).not.toContain(newRoom);
		// The new room's mailbox: nothing in it opens under any key the removed device had.
		const entries = await mailboxEntries(network, newRoom);
		expect(entries.length).toBeGreaterThan(1);
		for (const entry of entries) {
			for (const keys of keptEpochs) {
				expect(() => openMailboxEntry(keys.mailboxKey, newRoom, entry.data)).toThrow();
				expect(() => openMailboxEntry(keys.mailboxKey, keys.room, entry.data)).toThrow();
			}
		}
		// Told the new room, it still cannot get in: it has neither the epoch's psk nor a listed key.
		const intruder = attackerChannel(network.transport(newRoom), keptEpochs[0]!.sessionPsk, keptKeys.agreement);
		const received: Uint8Array[] = [];
		intruder.on('message', ({ data }) => received.push(data));
		intruder.transport.connect();
		await settle(100);
		expect(intruder.authenticatedPeers).toEqual([]);
		expect(received).toEqual([]);
		expect(primary.connection.peers).toBe(0);
		// The phone, away during the removal, still gets the new epoch and the message.
		phone.connect();
		await until([phone], () => phone.trust.currentEpoch.epoch === 2 && texts(phone).includes('after the removal'));
	});

	it('while it is offline: it learns it from the former room when it comes back, wipes itself, and never shows what came after', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 2);
		open.push(...sessions);
		const [primary, phone, tablet] = sessions as [Session, Session, Session];
		primary.connect();
		primary.removeDevice(tablet.self.id);
		await until([primary], () => primary.trust.currentEpoch.epoch === 2);
		await primary.chats.send('self', 'written after the removal');
		await primary.close();
		open.splice(open.indexOf(primary), 1);
		// Nobody of the account is online: the former room's mailbox tells the tablet.
		const reason = new Promise((resolve) => tablet.on('logged-out', resolve));
		tablet.connect();
		expect(await reason).toBe('removed');
		expect(texts(tablet)).not.toContain('written after the removal');
		// The phone, also away, learns the new epoch the same way and receives the message.
		phone.connect();
		await until([phone], () => phone.trust.currentEpoch.epoch === 2 && texts(phone).includes('written after the removal'));
		expect(phone.loggedOut).toBeUndefined();
	});

	it('a companion that logs itself out keeps nothing, and its signed note frees its slot on the primary', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 1, { connected: true });
		open.push(...sessions);
		const [primary, phone] = sessions as [Session, Session];
		const platform = phone['platform'];
		await phone.logOut();
		await until([phone], () => phone.loggedOut === 'self');
		expect(await platform.records.get('trust')).toBeUndefined();
		expect(await platform.records.get('device-keys')).toBeUndefined();
		expect(await Session.restore(platform)).toBeUndefined();
		await until([primary], () => primary.devices.length === 1);
		expect(primary.trust.deviceList.former.map((device) => device.name)).toEqual(['Phone 1']);
	});

	it('a leaving note for another device, signed by anyone but that device, changes nothing', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 2, { connected: true });
		open.push(...sessions);
		const [primary, phone, tablet] = sessions as [Session, Session, Session];
		const account = (phone as unknown as { account: import('yjs').Doc }).account;
		// The phone writes a note in the tablet's name, signed with its own key.
		const forged = writeLeavingNote({ accountKey: primary.trust.accountKey, deviceId: tablet.self.id }, phone.keys.signing.secretKey);
		leavingMap(account).set(tablet.self.id, toBase64Url(forged));
		leavingMap(account).set('garbage', 'not base64 ***');
		await until([primary], () => primary.securityEvents.some((event) => event.kind === 'forged-leaving-note'));
		expect(primary.devices).toHaveLength(3);
		expect(tablet.loggedOut).toBeUndefined();
	});

	it('deleting the account on the primary logs out every device', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 2, { connected: true });
		open.push(...sessions);
		const reasons = sessions.map((session) => new Promise((resolve) => session.on('logged-out', resolve)));
		await sessions[0]!.deleteAccount();
		expect(await Promise.all(reasons)).toEqual(['account-deleted', 'account-deleted', 'account-deleted']);
	});

	it('a new device is announced on the others until they look', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 2, { connected: true });
		open.push(...sessions);
		const [primary, phone, tablet] = sessions as [Session, Session, Session];
		await until([phone], () => phone.trust.deviceList.version === 3);
		expect(phone.notices.map((notice) => notice.name)).toEqual(['Phone 2']);
		expect(tablet.notices).toEqual([]);
		expect(primary.notices).toEqual([]);
		phone.markNoticesSeen();
		expect(phone.notices).toEqual([]);
	});
});

describe('device names', () => {
	it('any device renames any device, and every device shows the new name', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 1, { connected: true });
		open.push(...sessions);
		const [primary, phone] = sessions as [Session, Session];
		phone.renameDevice(primary.self.id, "Ada's laptop");
		await until([primary], () => primary.self.name === "Ada's laptop");
		phone.renameDevice('not-a-device', 'ghost');
		expect(phone.devices.map((d) => d.name)).toEqual(["Ada's laptop", 'Phone 1']);
	});
});

// Keeps the unused-helper check honest: memoryPlatform and PeerId are part of this file's vocabulary.
void memoryPlatform;
void generateDeviceKeys;
void MemoryKeyValueStore;
export type { PeerId };

describe('history larger than one Noise message', () => {
	it('a month of more than 64 KiB reaches a newly linked device whole', async () => {
		const network = new MemoryNetwork();
		const [primary, phone] = await linkedAccount(network, 1);
		open.push(primary!, phone!);
		for (let i = 0; i < 300; i++) await primary!.chats.send('self', `${i} ${'y'.repeat(300)}`);
		primary!.connect();
		phone!.connect();
		await until([phone!], () => texts(phone!).length === 300);
	});
});
