import { afterEach, describe, expect, it } from 'vitest';
import { INTRODUCTION_ENTRY_ID } from '../../src/lib/protocol/mailbox-entry';
import type { Session } from '../../src/lib/session';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { linkedAccount, texts, until } from '../helpers/devices';

function seededRandom(seed: number): () => number {
	let state = seed;
	return () => {
		state = (state * 1664525 + 1013904223) % 4294967296;
		return state / 4294967296;
	};
}

const open: Session[] = [];
afterEach(async () => {
	await Promise.all(open.splice(0).map((session) => session.close()));
});

/** Three devices that have met once, as after linking, and are then apart again. */
async function threeLinkedDevices(network: MemoryNetwork): Promise<Session[]> {
	const sessions = await linkedAccount(network, 2);
	open.push(...sessions);
	return sessions;
}

describe('sync between three devices', () => {
	it('converges when messages are reordered and duplicated', async () => {
		const network = new MemoryNetwork({ duplicate: 0.3, maxDelayMs: 20, random: seededRandom(42) });
		const devices = await threeLinkedDevices(network);
		const [primary, phone, tablet] = devices as [Session, Session, Session];
		await primary.chats.send('self', 'written while apart');
		for (const device of devices) device.connect();
		await until(devices, () => devices.every((d) => d.connection.peers === 2));
		const writes: Promise<unknown>[] = [];
		for (let i = 0; i < 20; i++) {
			for (const [n, device] of devices.entries()) writes.push(device.chats.send('self', `m${i}-d${n}`));
		}
		await Promise.all(writes);
		await until(devices, () => devices.every((d) => d.chats.messages('self').length === 61));
		expect(texts(phone)).toEqual(texts(primary));
		expect(texts(tablet)).toEqual(texts(primary));
		expect(new Set(texts(primary)).size).toBe(61);
		expect(phone.chats.list.map((c) => c.id)).toEqual(['self']);
		expect(primary.devices.length).toBe(3);
	});

	it('delivers what was written while apart once devices meet again', async () => {
		const network = new MemoryNetwork();
		const [primary, phone, tablet] = (await threeLinkedDevices(network)) as [Session, Session, Session];
		await primary.chats.send('self', 'while the phone was away');
		await tablet.chats.send('self', 'from the tablet while it was offline');
		expect(texts(phone)).not.toContain('while the phone was away');
		primary.connect();
		phone.connect();
		tablet.connect();
		await until([phone], () => texts(phone).length === 2);
		expect(texts(phone).sort()).toEqual(['from the tablet while it was offline', 'while the phone was away']);
	});

	it('keeps companions exchanging with the primary gone', async () => {
		const network = new MemoryNetwork();
		const [primary, phone, tablet] = (await threeLinkedDevices(network)) as [Session, Session, Session];
		for (const d of [primary, phone, tablet]) d.connect();
		await until([phone, tablet], () => phone.connection.peers === 2 && tablet.connection.peers === 2);
		await primary.close();
		open.splice(open.indexOf(primary), 1);
		await until([phone, tablet], () => phone.connection.peers === 1 && tablet.connection.peers === 1);
		await phone.chats.send('self', 'primary is off');
		await until([tablet], () => texts(tablet).includes('primary is off'));
	});

	it('shares read state across devices', async () => {
		const network = new MemoryNetwork();
		const [primary, phone] = (await threeLinkedDevices(network)) as [Session, Session, Session];
		primary.connect();
		phone.connect();
		await phone.chats.send('self', 'note to self');
		await until([primary], () => texts(primary).length === 1);
		const sentAt = primary.chats.messages('self')[0]!.sentAt;
		expect(primary.chats.readUpTo('self')).toBe(sentAt);
		expect(primary.chats.unreadCount('self')).toBe(0);
	});
});

/** What a device joining the room now would find in the mailbox. */
async function mailboxContents(network: MemoryNetwork, room: string): Promise<string[]> {
	const probe = network.transport(room);
	const seen: string[] = [];
	probe.on('mailbox', (entries) => seen.push(...entries.map((entry) => entry.id)));
	probe.connect();
	await new Promise((r) => setTimeout(r, 20));
	probe.close();
	return seen;
}

describe('the mailbox, for devices that are never online together', () => {
	it('delivers what one device wrote alone to another that comes later, then empties', async () => {
		const network = new MemoryNetwork();
		const [primary, phone] = (await threeLinkedDevices(network)) as [Session, Session, Session];
		primary.connect();
		await primary.chats.send('self', 'left in the mailbox');
		await primary.close();
		open.splice(open.indexOf(primary), 1);
		phone.connect();
		await until([phone], () => texts(phone).includes('left in the mailbox'));
		expect(phone.connection.peers).toBe(0);
		// The phone took it: a device arriving after it finds nothing more in the mailbox.
		await new Promise((r) => setTimeout(r, 20));
		expect(await mailboxContents(network, phone.meetingRoom.room)).toEqual([INTRODUCTION_ENTRY_ID]);
	});

	it('does not use the mailbox while another device is connected', async () => {
		const network = new MemoryNetwork();
		const [primary, phone] = (await threeLinkedDevices(network)) as [Session, Session, Session];
		primary.connect();
		phone.connect();
		await until([primary, phone], () => primary.connection.syncedPeers === 1 && phone.connection.syncedPeers === 1);
		await primary.chats.send('self', 'direct');
		await until([phone], () => texts(phone).includes('direct'));
		expect(await mailboxContents(network, primary.meetingRoom.room)).toEqual([INTRODUCTION_ENTRY_ID]);
	});

	it('skips entries it cannot open, and takes them away', async () => {
		const network = new MemoryNetwork();
		const [primary] = (await threeLinkedDevices(network)) as [Session, Session, Session];
		const room = primary.meetingRoom.room;
		// The mailbox takes deposits only under the room key: this one has it, but not the mailbox key.
		const intruder = network.transport(room, primary.meetingRoom.roomAuth);
		intruder.connect();
		intruder.mailbox.deposit({ id: 'forged-entry-1', data: new Uint8Array(80) });
		intruder.close();
		primary.connect();
		await until([primary], () => primary.mailboxRejected === 1);
		expect(await mailboxContents(network, room)).toEqual([INTRODUCTION_ENTRY_ID]);
		expect(texts(primary)).toEqual([]);
	});
});
