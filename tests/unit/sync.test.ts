import { afterEach, describe, expect, it } from 'vitest';
import { Device } from '../../src/lib/device';
import { accountRoomId, sessionKeyFor, newAccountKey } from '../../src/lib/account/keys';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { SecureChannel } from '../../src/lib/transport/peer-session';
import { memoryPlatform, texts, until } from '../helpers/devices';

function seededRandom(seed: number): () => number {
	let state = seed;
	return () => {
		state = (state * 1664525 + 1013904223) % 4294967296;
		return state / 4294967296;
	};
}

const open: Device[] = [];
afterEach(async () => {
	await Promise.all(open.splice(0).map((device) => device.close()));
});

async function threeDevices(network: MemoryNetwork): Promise<Device[]> {
	const primary = await Device.createAccount(memoryPlatform(network), 'Ada', 'Laptop');
	const bundle = (id: string) => ({
		accountName: 'Ada',
		key: { secret: Buffer.from(primary.accountKey.secret).toString('base64url'), epoch: primary.accountKey.epoch },
		deviceId: id,
		deviceName: id
	});
	const phone = await Device.joinAccount(memoryPlatform(network), bundle('phone'));
	const tablet = await Device.joinAccount(memoryPlatform(network), bundle('tablet'));
	open.push(primary, phone, tablet);
	return [primary, phone, tablet];
}

/** Three devices that have met once, as after linking, and are then apart again. */
async function threeLinkedDevices(network: MemoryNetwork): Promise<Device[]> {
	const devices = await threeDevices(network);
	for (const device of devices) device.connect();
	await until(devices, () => devices.every((d) => d.chat('self') !== undefined && d.connection.syncedPeers === 2));
	for (const device of devices) device.disconnect();
	return devices;
}

describe('sync between three devices', () => {
	it('converges when messages are reordered and duplicated', async () => {
		const network = new MemoryNetwork({ duplicate: 0.3, maxDelayMs: 20, random: seededRandom(42) });
		const devices = await threeLinkedDevices(network);
		const [primary, phone, tablet] = devices as [Device, Device, Device];
		await primary.sendMessage('self', 'written while apart');
		for (const device of devices) device.connect();
		await until(devices, () => devices.every((d) => d.connection.peers === 2));
		const writes: Promise<unknown>[] = [];
		for (let i = 0; i < 20; i++) {
			for (const [n, device] of devices.entries()) writes.push(device.sendMessage('self', `m${i}-d${n}`));
		}
		await Promise.all(writes);
		await until(devices, () => devices.every((d) => d.messages('self').length === 61));
		expect(texts(phone)).toEqual(texts(primary));
		expect(texts(tablet)).toEqual(texts(primary));
		expect(new Set(texts(primary)).size).toBe(61);
		expect(phone.chats.map((c) => c.id)).toEqual(['self']);
		expect(primary.devices.length).toBe(1);
	});

	it('delivers what was written while apart once devices meet again', async () => {
		const network = new MemoryNetwork();
		const [primary, phone, tablet] = (await threeLinkedDevices(network)) as [Device, Device, Device];
		await primary.sendMessage('self', 'while the phone was away');
		await tablet.sendMessage('self', 'from the tablet while it was offline');
		expect(texts(phone)).not.toContain('while the phone was away');
		primary.connect();
		phone.connect();
		tablet.connect();
		await until([phone], () => texts(phone).length === 2);
		expect(texts(phone).sort()).toEqual(['from the tablet while it was offline', 'while the phone was away']);
	});

	it('keeps companions exchanging with the primary gone', async () => {
		const network = new MemoryNetwork();
		const [primary, phone, tablet] = (await threeLinkedDevices(network)) as [Device, Device, Device];
		for (const d of [primary, phone, tablet]) d.connect();
		await until([phone, tablet], () => phone.connection.peers === 2 && tablet.connection.peers === 2);
		await primary.close();
		open.splice(open.indexOf(primary), 1);
		await until([phone, tablet], () => phone.connection.peers === 1 && tablet.connection.peers === 1);
		await phone.sendMessage('self', 'primary is off');
		await until([tablet], () => texts(tablet).includes('primary is off'));
	});

	it('shares read state across devices', async () => {
		const network = new MemoryNetwork();
		const [primary, phone] = (await threeLinkedDevices(network)) as [Device, Device, Device];
		primary.connect();
		phone.connect();
		await phone.sendMessage('self', 'note to self');
		await until([primary], () => texts(primary).length === 1);
		const sentAt = primary.messages('self')[0]!.sentAt;
		expect(primary.readUpTo('self')).toBe(sentAt);
		expect(primary.unreadCount('self')).toBe(0);
	});
});

describe('peer sessions', () => {
	it('never syncs with a peer that lacks the account key, and counts its frames', async () => {
		const network = new MemoryNetwork();
		const [primary] = (await threeDevices(network)) as [Device, Device, Device];
		await primary.sendMessage('self', 'secret');
		primary.connect();
		const intruderTransport = network.transport(accountRoomId(primary.accountKey));
		const intruder = new SecureChannel(intruderTransport, sessionKeyFor({ ...newAccountKey(), epoch: primary.accountKey.epoch }));
		const received: Uint8Array[] = [];
		intruder.on('message', ({ data }) => received.push(data));
		intruderTransport.connect();
		await until([primary], () => primary.rejectedFrames > 0);
		expect(intruder.authenticatedPeers).toEqual([]);
		expect(primary.connection.peers).toBe(0);
		expect(received).toEqual([]);
	});

	it('drops malformed and forged frames without losing the channel', async () => {
		const network = new MemoryNetwork();
		const [primary, phone] = (await threeDevices(network)) as [Device, Device, Device];
		primary.connect();
		phone.connect();
		await until([primary, phone], () => primary.connection.syncedPeers === 1 && phone.connection.syncedPeers === 1);
		const rogue = network.transport(accountRoomId(primary.accountKey));
		rogue.connect();
		const target = [...rogue.peers][0]!;
		const helloWithoutKey = new Uint8Array([1, 1, primary.accountKey.epoch, ...new Uint8Array(32)]);
		const forgedProof = new Uint8Array([2, ...new Uint8Array(60)]);
		for (const garbage of [new Uint8Array([]), new Uint8Array([9, 9]), new Uint8Array([1, 1]), helloWithoutKey, forgedProof]) {
			rogue.send(target, garbage);
		}
		await until([primary, phone], () => primary.rejectedFrames + phone.rejectedFrames >= 4);
		expect(primary.connection.peers).toBe(1);
		expect(phone.connection.peers).toBe(1);
		await phone.sendMessage('self', 'still here');
		await until([primary], () => texts(primary).includes('still here'));
	});

	it('does not authenticate peers on another key epoch', async () => {
		const network = new MemoryNetwork();
		const key = newAccountKey();
		const room = accountRoomId(key);
		const a = new SecureChannel(network.transport(room), sessionKeyFor(key));
		const b = new SecureChannel(network.transport(room), sessionKeyFor({ ...key, epoch: 2 }));
		a.transport.connect();
		b.transport.connect();
		await new Promise((r) => setTimeout(r, 50));
		expect(a.authenticatedPeers).toEqual([]);
		expect(b.authenticatedPeers).toEqual([]);
		expect(a.rejectedFrames + b.rejectedFrames).toBeGreaterThan(0);
	});
});

/** What a device joining the room now would find in the mailbox. */
async function mailboxContents(network: MemoryNetwork, room: string): Promise<unknown[]> {
	const probe = network.transport(room);
	const seen: unknown[] = [];
	probe.on('mailbox', (entries) => seen.push(...entries));
	probe.connect();
	await new Promise((r) => setTimeout(r, 20));
	probe.close();
	return seen;
}

describe('the mailbox, for devices that are never online together', () => {
	it('delivers what one device wrote alone to another that comes later, then empties', async () => {
		const network = new MemoryNetwork();
		const [primary, phone] = (await threeLinkedDevices(network)) as [Device, Device, Device];
		primary.connect();
		await primary.sendMessage('self', 'left in the mailbox');
		await primary.close();
		open.splice(open.indexOf(primary), 1);
		phone.connect();
		await until([phone], () => texts(phone).includes('left in the mailbox'));
		expect(phone.connection.peers).toBe(0);
		// The phone took it: a device arriving after it finds nothing more in the mailbox.
		await new Promise((r) => setTimeout(r, 20));
		expect(await mailboxContents(network, accountRoomId(phone.accountKey))).toEqual([]);
	});

	it('does not use the mailbox while another device is connected', async () => {
		const network = new MemoryNetwork();
		const [primary, phone] = (await threeLinkedDevices(network)) as [Device, Device, Device];
		primary.connect();
		phone.connect();
		await until([primary, phone], () => primary.connection.syncedPeers === 1 && phone.connection.syncedPeers === 1);
		await primary.sendMessage('self', 'direct');
		await until([phone], () => texts(phone).includes('direct'));
		expect(await mailboxContents(network, accountRoomId(primary.accountKey))).toEqual([]);
	});

	it('skips entries it cannot open, and takes them away', async () => {
		const network = new MemoryNetwork();
		const [primary] = (await threeLinkedDevices(network)) as [Device, Device, Device];
		const room = accountRoomId(primary.accountKey);
		const intruder = network.transport(room);
		intruder.connect();
		intruder.mailbox.deposit({ id: 'forged-entry-1', data: new Uint8Array(80) });
		intruder.close();
		primary.connect();
		await until([primary], () => primary.mailboxRejected === 1);
		expect(await mailboxContents(network, room)).toEqual([]);
		expect(texts(primary)).toEqual([]);
	});
});
