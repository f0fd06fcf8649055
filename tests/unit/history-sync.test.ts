import { afterEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { chatsMap, readMap } from '../../src/lib/account/document';
import { isChatMessage, messagesMap, parseMonthTopic } from '../../src/lib/chats/messages';
import { Session, type Platform } from '../../src/lib/session';
import type { SyncEngine } from '../../src/lib/sync/engine';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import type { RoomMode } from '../../src/lib/transport/types';
import { linkThroughHandshake, memoryPlatform, until } from '../helpers/devices';
import { seededRandom } from '../fuzz/fuzz';

const DAY = 24 * 60 * 60 * 1000;

const open: Session[] = [];
afterEach(async () => {
	await Promise.all(open.splice(0).map((session) => session.close()));
});

/** Adds chats besides the note to self (the account's own chats; other kinds come with contacts). */
function addChats(session: Session, count: number): string[] {
	const ids = Array.from({ length: count }, (_, i) => `chat${i}`);
	const account = session['account'] as import('yjs').Doc;
	for (const id of ids) chatsMap(account).set(id, { id, title: id, kind: 'self', createdAt: 0 });
	return ['self', ...ids];
}

/** A primary with `months` months of history in each of `chats` chats, `perMonth` messages a month. */
async function accountWithHistory(network: MemoryNetwork, clock: { now: number }, chats: number, months: number, perMonth: number) {
	const start = clock.now;
	const primary = await Session.createAccount(memoryPlatform(network, () => clock.now), 'Ada', 'Laptop');
	open.push(primary);
	const chatIds = addChats(primary, chats - 1);
	for (let month = 0; month < months; month++) {
		for (let i = 0; i < perMonth; i++) {
			for (const chatId of chatIds) {
				clock.now = start + month * 31 * DAY + i * 60_000;
				await primary.chats.send(chatId, `${chatId} ${month}/${i}`);
			}
		}
	}
	return { primary, chatIds, total: chats * months * perMonth };
}

function totalShown(session: Session, chatIds: string[]): number {
	return chatIds.reduce((sum, id) => sum + session.chats.messages(id).length, 0);
}

describe('a history sync', () => {
	it('shows how far it has come, and ends with every message', async () => {
		// Messages take a few milliseconds each, as on a real network, so the sync spans many turns.
		const generator = seededRandom(7);
		const network = new MemoryNetwork({ duplicate: 0, maxDelayMs: 4, random: () => generator.uint32() / 2 ** 32 });
		const clock = { now: Date.UTC(2026, 0, 5) };
		const { primary, chatIds, total } = await accountWithHistory(network, clock, 3, 6, 10);
		const platform = memoryPlatform(network, () => clock.now);
		const joined = await linkThroughHandshake(primary, platform.transport, (room) => network.transport(room), 'Phone', { clock: () => clock.now });
		const phone = await Session.join(platform, joined);
		open.push(phone);
		const seen: { received: number; expected: number }[] = [];
		phone.on('changed', () => {
			const history = phone.connection.history;
			if (history) seen.push({ ...history });
		});
		// Alone, with the mailbox handled, a new device still waits for its history from another device.
		phone.connect();
		await until([phone], () => phone.connection.network === 'online');
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(phone.connection.historySynced).toBe(false);
		primary.connect();
		await until([phone], () => phone.connection.syncedPeers === 1 && phone.connection.historySynced);
		await Promise.all(chatIds.map((id) => phone.chats.show(id, Number.POSITIVE_INFINITY)));
		expect(totalShown(phone, chatIds)).toBe(total);
		// It said how many messages it expected, all of the history, and counted up to them.
		expect(seen.length).toBeGreaterThan(1);
		expect(Math.max(...seen.map((s) => s.expected))).toBe(total);
		expect(seen.some((s) => s.received > 0 && s.received < s.expected)).toBe(true);
		expect(phone.connection.history).toBeUndefined();
	});

	it('cut off half way, resumes where it stopped: what arrived is not sent again', async () => {
		const network = new MemoryNetwork();
		const clock = { now: Date.UTC(2026, 0, 5) };
		const { primary, chatIds, total } = await accountWithHistory(network, clock, 4, 8, 15);
		const platform = memoryPlatform(network, () => clock.now);
		const received = { bytes: 0, messages: 0 };
		let cutAfter = Number.POSITIVE_INFINITY;
		let phone: Session | undefined;
		platform.transport = (room: string, auth, mode?: RoomMode) => {
			const transport = network.transport(room, auth, mode);
			transport.on('message', ({ data }) => {
				received.bytes += data.length;
				// Cut at once: the rest of a burst delivered in the same task does not arrive.
				if (++received.messages === cutAfter) phone?.disconnect();
			});
			return transport;
		};
		const joined = await linkThroughHandshake(primary, platform.transport, (room) => network.transport(room), 'Phone', { clock: () => clock.now });
		primary.connect();

		// For reference, the whole sync from nothing, on another new device.
		const reference = memoryPlatform(network, () => clock.now) as Platform;
		const referenceBytes = { bytes: 0, messages: 0 };
		reference.transport = (room, auth, mode) => {
			const transport = network.transport(room, auth, mode);
			transport.on('message', ({ data }) => {
				referenceBytes.bytes += data.length;
				referenceBytes.messages++;
			});
			return transport;
		};
		const other = await Session.join(reference, await linkThroughHandshake(primary, reference.transport, (room) => network.transport(room), 'Tablet', { clock: () => clock.now }));
		open.push(other);
		other.connect();
		await until([other], () => other.connection.historySynced);
		await other.close();
		open.splice(open.indexOf(other), 1);

		// Half way through what the whole sync takes.
		cutAfter = Math.floor(referenceBytes.messages / 2);
		phone = await Session.join(platform, joined);
		open.push(phone);
		phone.connect();
		await until([phone], () => received.messages >= cutAfter && phone!.connection.network === 'offline');
		const engine = phone['engine'] as SyncEngine;
		const monthsHere = engine.topics.filter((topic) => parseMonthTopic(topic) && messagesMap(engine.doc(topic)!).size > 0).length;
		expect(monthsHere).toBeGreaterThan(0);
		expect(monthsHere).toBeLessThan(chatIds.length * 8);

		const before = received.bytes;
		phone.connect();
		await until([phone], () => phone!.connection.historySynced);
		await Promise.all(chatIds.map((id) => phone!.chats.show(id, Number.POSITIVE_INFINITY)));
		expect(totalShown(phone, chatIds)).toBe(total);
		// The second meeting brought what was missing, not the whole history again.
		expect(received.bytes - before).toBeLessThan(referenceBytes.bytes * 0.85);
	});
});

describe('the chat read model', () => {
	it('agrees with a full recomputation after random sends, reads and syncs on three devices', async () => {
		const generator = seededRandom(0x8ead);
		const random = () => generator.uint32() / 2 ** 32;
		const network = new MemoryNetwork();
		const clock = { now: Date.UTC(2026, 2, 28) };
		const primary = await Session.createAccount(memoryPlatform(network, () => clock.now), 'Ada', 'Laptop');
		open.push(primary);
		const chatIds = addChats(primary, 4);
		const devices = [primary];
		for (const name of ['Phone', 'Tablet']) {
			const platform = memoryPlatform(network, () => clock.now);
			const joined = await linkThroughHandshake(primary, platform.transport, (room) => network.transport(room), name, { clock: () => clock.now });
			const device = await Session.join(platform, joined);
			open.push(device);
			devices.push(device);
		}
		for (const device of devices) device.connect();
		await until(devices, () => devices.every((device) => device.connection.syncedPeers === 2));

		/** What the chat list shows, computed from every open document, the slow way. */
		function recomputed(device: Session) {
			const engine = device['engine'] as SyncEngine;
			return chatIds.map((chatId) => {
				const messages = engine.topics
					.filter((topic) => parseMonthTopic(topic)?.chatId === chatId)
					.flatMap((topic) => [...messagesMap(engine.doc(topic)!).values()].filter((value) => isChatMessage(value, chatId)))
					.sort((a, b) => a.sentAt - b.sentAt || (a.id < b.id ? -1 : 1));
				const marks = [...readMap(device['account'] as Y.Doc)].filter(([key]) => key.startsWith(`${chatId}/`));
				const readUpTo = Math.max(0, ...marks.map(([, time]) => time));
				// A mark of this device's own as the chat screen keeps it: halfway through the chat.
				const seenUpTo = messages[messages.length >> 1]?.sentAt ?? 0;
				return {
					chatId,
					last: messages.at(-1)?.id,
					readUpTo,
					unread: messages.filter((m) => m.sentAt > readUpTo && m.author !== device.self.id).length,
					unreadAfterSeen: messages.filter((m) => m.sentAt > seenUpTo && m.author !== device.self.id).length,
					ids: messages.map((m) => m.id)
				};
			});
		}
		function fromReadModel(device: Session) {
			return chatIds.map((chatId) => {
				const shown = device.chats.messages(chatId);
				return {
					chatId,
					last: device.chats.summary(chatId).last?.id,
					readUpTo: device.chats.readUpTo(chatId),
					unread: device.chats.unreadCount(chatId),
					unreadAfterSeen: device.chats.writtenByOthersAfter(chatId, shown[shown.length >> 1]?.sentAt ?? 0),
					ids: shown.map((m) => m.id)
				};
			});
		}

		for (let step = 0; step < 300; step++) {
			const device = devices[Math.floor(random() * devices.length)]!;
			const chatId = chatIds[Math.floor(random() * chatIds.length)]!;
			const roll = random();
			// Up to an hour a step: a month's end is crossed, and no companion is away long enough to log itself out.
			clock.now += Math.floor((random() * DAY) / 24);
			// What the devices' minute timers do as time passes: heartbeats, and a new day's room at midnight.
			for (const each of devices) each.check();
			if (roll < 0.6) await device.chats.send(chatId, `step ${step}`);
			else if (roll < 0.8) device.chats.markRead(chatId);
			else if (roll < 0.9 && device !== primary) device.disconnect();
			else device.connect();
			await new Promise((resolve) => setTimeout(resolve, 0));
			for (const check of devices) expect(JSON.stringify(fromReadModel(check)), `step ${step}`).toBe(JSON.stringify(recomputed(check)));
			const order = devices[0]!.chats.list.map((chat) => chat.id);
			const expectedOrder = [...chatIds].sort((a, b) => {
				const last = (id: string) => devices[0]!.chats.summary(id).last?.sentAt ?? devices[0]!.chats.chat(id)!.createdAt;
				return last(b) - last(a) || (a < b ? -1 : 1);
			});
			expect(order).toEqual(expectedOrder);
		}
		expect(devices.every((device) => !device.loggedOut)).toBe(true);
		expect(new Set(devices[0]!['engine'].topics.map((topic: string) => topic.slice(-7))).size).toBeGreaterThan(2);
		for (const device of devices) device.connect();
		await until(devices, () => devices.every((device) => device.connection.syncedPeers === 2));
		const all = fromReadModel(devices[0]!).map((chat) => chat.ids);
		for (const device of devices) expect(fromReadModel(device).map((chat) => chat.ids)).toEqual(all);
	});
});
