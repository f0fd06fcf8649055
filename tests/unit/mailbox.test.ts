import { afterEach, describe, expect, it } from 'vitest';
import {
	joinMailboxParts,
	MailboxEntryError,
	MAX_PARTS,
	openMailboxEntry,
	sealMailboxEntries,
	type MailboxPart
} from '../../src/lib/protocol/mailbox-entry';
import { Session, type Platform } from '../../src/lib/session';
import { MAX_MAILBOX_ITEM_BYTES } from '../../src/lib/transport/signaling-protocol';
import type { MemoryKeyValueStore } from '../../src/lib/storage/memory';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { DAY_MS, dayOf } from '../../src/lib/identity/epochs';
import type { Clock } from '../../src/lib/util/clock';
import { linkedAccount, texts, until } from '../helpers/devices';

const open = new Set<Session>();
afterEach(async () => {
	await Promise.all([...open].map((session) => session.close()));
	open.clear();
});

/** A device's storage survives its app being closed; reopening restores the session from it. */
async function reopen(platform: Platform): Promise<Session> {
	const session = (await Session.restore(platform))!;
	open.add(session);
	session.connect();
	return session;
}

async function closeApp(session: Session): Promise<void> {
	open.delete(session);
	await session.close();
}

/** Linked devices whose platforms (storage) are kept, all closed: each can be reopened alone. */
async function closedAccount(network: MemoryNetwork, companions: number, clock?: Clock): Promise<Platform[]> {
	const sessions = await linkedAccount(network, companions, { clock });
	const platforms = sessions.map((session) => session['platform'] as Platform);
	for (const session of sessions) await session.close();
	return platforms;
}

describe('every change reaches every device, whichever are online together', () => {
	it('a hundred long messages written alone arrive whole, though they are larger than one mailbox item', async () => {
		const network = new MemoryNetwork();
		const [primaryPlatform, phonePlatform] = await closedAccount(network, 1);
		const primary = await reopen(primaryPlatform!);
		for (let i = 0; i < 100; i++) await primary.chats.send('self', `${String(i).padStart(3, '0')} ${'x'.repeat(296)}`);
		await closeApp(primary);
		const phone = await reopen(phonePlatform!);
		await until([phone], () => texts(phone).length === 100);
		expect(texts(phone).map((text) => text.slice(0, 3)).sort()).toEqual(Array.from({ length: 100 }, (_, i) => String(i).padStart(3, '0')));
		expect(texts(phone).every((text) => text.length === 300)).toBe(true);
	});

	it('three devices never online together: the last one still gets what the first wrote', async () => {
		const network = new MemoryNetwork();
		const [p, a, b] = await closedAccount(network, 2);
		const primary = await reopen(p!);
		await primary.chats.send('self', 'm1 from the primary');
		await closeApp(primary);
		const phone = await reopen(a!);
		await until([phone], () => texts(phone).includes('m1 from the primary'));
		await phone.chats.send('self', 'm2 from the phone');
		await closeApp(phone);
		const tablet = await reopen(b!);
		await until([tablet], () => texts(tablet).length === 2);
		expect(texts(tablet)).toEqual(['m1 from the primary', 'm2 from the phone']);
		// Alone, having handled the mailbox, it holds what the others left: its history is synced.
		await until([tablet], () => tablet.connection.historySynced);
		expect(tablet.connection.peers).toBe(0);
	});

	it('five devices, each opened alone in turn, twice: every device ends with every message in the same order', async () => {
		const network = new MemoryNetwork();
		const platforms = await closedAccount(network, 4);
		const written: string[] = [];
		for (const [index, platform] of platforms.entries()) {
			const device = await reopen(platform);
			await until([device], () => texts(device).length === written.length);
			const text = `message from device ${index + 1}`;
			await device.chats.send('self', text);
			written.push(text);
			await closeApp(device);
		}
		for (const platform of platforms) {
			const device = await reopen(platform);
			await until([device], () => texts(device).length === written.length);
			expect(texts(device)).toEqual(written);
			await closeApp(device);
		}
	});

	it('a device closed before it could deposit delivers after it reopens', async () => {
		const network = new MemoryNetwork();
		const [p, a] = await closedAccount(network, 1);
		// Written while the app never reached the server, then closed.
		const offline = (await Session.restore(p!))!;
		await offline.chats.send('self', 'written offline');
		await offline.close();
		const primary = await reopen(p!);
		await closeApp(primary);
		const phone = await reopen(a!);
		await until([phone], () => texts(phone).includes('written offline'));
	});

	it('keeps what a device owes in its storage, not in memory', async () => {
		const network = new MemoryNetwork();
		const [p] = await closedAccount(network, 1);
		const records = p!.records as MemoryKeyValueStore;
		const offline = (await Session.restore(p!))!;
		await offline.chats.send('self', 'not yet delivered');
		await offline.close();
		const owed = await records.get<Record<string, string>>('outbox');
		expect(Object.keys(owed ?? {}).sort()).toEqual(expect.arrayContaining(['account']));
		expect(Object.keys(owed ?? {}).some((topic) => topic.startsWith('chat/self/'))).toBe(true);
	});
});

describe('the account’s room changes every day', () => {
	const HOUR_MS = 60 * 60 * 1000;
	/** Rooms the network has a mailbox for: every room a device of the account deposited into. */
	const roomsWithMail = (network: MemoryNetwork) => [...(network as unknown as { mailboxes: Map<string, unknown> }).mailboxes.keys()];

	it('devices opened alone days apart each get what the others wrote, through the mailboxes of the days they missed', async () => {
		const network = new MemoryNetwork();
		let now = Date.UTC(2026, 10, 2, 9);
		const clock: Clock = () => now;
		const [p, a, b] = await closedAccount(network, 2, clock);
		const primary = await reopen(p!);
		const firstRoom = primary.meetingRoom.room;
		await primary.chats.send('self', 'm1 on Monday');
		await closeApp(primary);

		now += 3 * DAY_MS;
		const phone = await reopen(a!);
		expect(phone.meetingRoom.room).not.toBe(firstRoom);
		await until([phone], () => texts(phone).includes('m1 on Monday'));
		await phone.chats.send('self', 'm2 on Thursday');
		await closeApp(phone);

		now += 5 * DAY_MS + 13 * HOUR_MS;
		const tablet = await reopen(b!);
		await until([tablet], () => texts(tablet).length === 2 && tablet.connection.historySynced);
		expect(texts(tablet)).toEqual(['m1 on Monday', 'm2 on Thursday']);
		expect(tablet.connection.peers).toBe(0);
		expect(tablet.mailboxRejected).toBe(0);

		// The primary, back a day later, learns of Thursday's message without anyone online.
		now += DAY_MS;
		await closeApp(tablet);
		const back = await reopen(p!);
		await until([back], () => texts(back).length === 2 && back.connection.historySynced);
		expect(texts(back)).toEqual(['m1 on Monday', 'm2 on Thursday']);
		// Each day the account was used has a room of its own: the server cannot tell that they belong together.
		expect(new Set(roomsWithMail(network)).size).toBeGreaterThanOrEqual(3);
		expect(roomsWithMail(network)).toContain(firstRoom);
	});

	it('entries a malicious server moves from one day’s mailbox into another’s are refused, not applied', async () => {
		const network = new MemoryNetwork();
		let now = Date.UTC(2026, 10, 2, 9);
		const [p, a] = await closedAccount(network, 1, () => now);
		const primary = await reopen(p!);
		const monday = primary.meetingRoom.room;
		await primary.chats.send('self', 'left on Monday');
		await closeApp(primary);
		// The server copies Monday's items into Tuesday's room, under new ids, and drops the originals.
		now += DAY_MS;
		const phone = (await Session.restore(a!))!;
		open.add(phone);
		const tuesday = phone.meetingRoom.room;
		const boxes = (network as unknown as { mailboxes: Map<string, Map<string, Uint8Array>> }).mailboxes;
		const moved = [...(boxes.get(monday) ?? new Map()).values()];
		expect(moved.length).toBeGreaterThan(1);
		boxes.set(tuesday, new Map(moved.map((data, index) => [`moved-${String(index).padStart(4, '0')}`, data])));
		boxes.delete(monday);
		phone.connect();
		await until([phone], () => phone.mailboxRejected === moved.length);
		expect(texts(phone)).toEqual([]);
	});

	it('a device online at midnight moves to the new day’s room and meets a device opened after midnight there', async () => {
		const network = new MemoryNetwork();
		let now = Date.UTC(2026, 10, 2, 23, 58);
		const clock: Clock = () => now;
		const [p, a] = await closedAccount(network, 1, clock);
		const primary = await reopen(p!);
		await until([primary], () => primary.connection.historySynced);
		const monday = primary.meetingRoom;
		await primary.chats.send('self', 'just before midnight');

		now += 5 * 60 * 1000;
		primary.check();
		expect(primary.meetingRoom.day).toBe(dayOf(now));
		expect(primary.meetingRoom.room).not.toBe(monday.room);
		const phone = await reopen(a!);
		await until([primary, phone], () => primary.connection.syncedPeers === 1 && phone.connection.syncedPeers === 1);
		expect(texts(phone)).toEqual(['just before midnight']);
		await phone.chats.send('self', 'just after midnight');
		await until([primary], () => texts(primary).includes('just after midnight'));
	});

	it('what a device with a slow clock left in yesterday’s room reaches a device already in today’s', async () => {
		const network = new MemoryNetwork();
		let now = Date.UTC(2026, 10, 3, 0, 5);
		const [p, a] = await closedAccount(network, 1, () => now);
		const primary = await reopen(p!);
		await until([primary], () => primary.connection.historySynced);
		await closeApp(primary);

		// The phone's clock is ten minutes behind: for it, it is still yesterday.
		a!.clock = () => now - 10 * 60 * 1000;
		const phone = await reopen(a!);
		expect(phone.meetingRoom.day).toBe(dayOf(now) - 1);
		await phone.chats.send('self', 'written at 23:57 by the phone’s clock');
		await until([phone], () => !phone.connection.undelivered);
		await closeApp(phone);

		now += 60 * 60 * 1000;
		const back = await reopen(p!);
		await until([back], () => texts(back).length === 1 && back.connection.historySynced);
	});

	it('a device away for longer than the mailbox keeps anything catches up on the last 30 days only, one day at a time', async () => {
		const network = new MemoryNetwork();
		let now = Date.UTC(2026, 10, 2, 12);
		const [p, a] = await closedAccount(network, 1, () => now);
		const primary = await reopen(p!);
		await primary.chats.send('self', 'before the long absence');
		await closeApp(primary);
		const joins: string[] = [];
		const transport = a!.transport;
		a!.transport = (room, auth, mode) => {
			joins.push(`${mode ?? 'meet'}:${room}`);
			return transport(room, auth, mode);
		};
		now += 12 * DAY_MS;
		const phone = await reopen(a!);
		await until([phone], () => phone.connection.historySynced);
		expect(texts(phone)).toEqual(['before the long absence']);
		// Today's room to meet in, and the twelve days before it (from the day it last looked), for their mailbox only.
		expect(joins.filter((join) => join.startsWith('meet:'))).toHaveLength(1);
		expect(joins.filter((join) => join.startsWith('mailbox:'))).toHaveLength(12);
		expect(new Set(joins).size).toBe(13);
		await closeApp(phone);

		// Reopened the same day: only yesterday is looked at again.
		joins.length = 0;
		const again = await reopen(a!);
		await until([again], () => again.connection.historySynced);
		expect(joins.filter((join) => join.startsWith('mailbox:'))).toHaveLength(1);
	});
});

describe('mailbox entries in parts', () => {
	const key = new Uint8Array(32).fill(7);
	const room = 'r'.repeat(32);
	const update = new Uint8Array(100_000).map((_, i) => i % 251);

	it('an update too large for one entry is cut into parts that join again in any order', () => {
		const sealed = sealMailboxEntries(key, room, { kind: 'update', topic: 'chat/self/2026-11', update }, MAX_MAILBOX_ITEM_BYTES);
		expect(sealed.length).toBe(4);
		expect(sealed.every((entry) => entry.length <= MAX_MAILBOX_ITEM_BYTES)).toBe(true);
		const parts = sealed.map((entry) => openMailboxEntry(key, room, entry)).reverse() as MailboxPart[];
		const joined = joinMailboxParts(parts);
		expect(joined.kind === 'update' && joined.topic).toBe('chat/self/2026-11');
		expect(joined.kind === 'update' && Buffer.compare(joined.update, update)).toBe(0);
		expect(sealMailboxEntries(key, room, { kind: 'update', topic: 't', update: update.subarray(0, 100) }, MAX_MAILBOX_ITEM_BYTES)).toHaveLength(1);
	});

	it('refuses a group with a part missing, a part twice, or parts of two groups', () => {
		const cut = () =>
			sealMailboxEntries(key, room, { kind: 'update', topic: 't', update }, MAX_MAILBOX_ITEM_BYTES).map((entry) => openMailboxEntry(key, room, entry) as MailboxPart);
		const [first, second] = [cut(), cut()];
		expect(() => joinMailboxParts(first.slice(1))).toThrow(MailboxEntryError);
		expect(() => joinMailboxParts([first[0]!, first[0]!, first[2]!, first[3]!])).toThrow(MailboxEntryError);
		expect(() => joinMailboxParts([first[0]!, second[1]!, first[2]!, first[3]!])).toThrow(MailboxEntryError);
	});

	it('refuses content that would need more parts than a reader keeps', () => {
		const huge = new Uint8Array(MAX_MAILBOX_ITEM_BYTES * (MAX_PARTS + 1));
		expect(() => sealMailboxEntries(key, room, { kind: 'update', topic: 't', update: huge }, MAX_MAILBOX_ITEM_BYTES)).toThrow(MailboxEntryError);
	});
});

describe('a deposit the mailbox refuses', () => {
	it('stays owed and shown as waiting, and goes out once there is room', async () => {
		const network = new MemoryNetwork();
		const [p, a] = await closedAccount(network, 1);
		network.mailboxItemsPerRoom = 1;
		const primary = await reopen(p!);
		// The room's one place is taken by the account's introduction: the message is refused.
		await primary.chats.send('self', 'waits for room');
		await until([primary], () => primary.connection.undelivered);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(primary.connection.undelivered).toBe(true);
		network.mailboxItemsPerRoom = Number.POSITIVE_INFINITY;
		primary.check();
		await until([primary], () => !primary.connection.undelivered);
		await closeApp(primary);
		const phone = await reopen(a!);
		await until([phone], () => texts(phone).includes('waits for room'));
	});
});

describe('a companion that logs itself out while the primary is away', () => {
	it('leaves its signed note in the mailbox, and the primary frees its place when it comes back', async () => {
		const network = new MemoryNetwork();
		const [p, a] = await closedAccount(network, 1);
		const phone = await reopen(a!);
		const loggedOut = new Promise((resolve) => phone.on('logged-out', resolve));
		await phone.logOut();
		expect(await loggedOut).toBe('self');
		open.delete(phone);
		const primary = await reopen(p!);
		await until([primary], () => primary.devices.length === 1);
		expect(primary.trust.deviceList.former.map((device) => device.name)).toEqual(['Phone 1']);
	});
});
