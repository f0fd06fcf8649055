import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { messagesMap, monthOf, monthTopic } from '../../src/lib/chats/messages';
import { excerpt, HISTORY_WINDOW_MS, mayApply, sharing } from '../../src/lib/history/window';
import { Session } from '../../src/lib/session';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import type { Clock } from '../../src/lib/util/clock';
import { linkThroughHandshake, memoryPlatform, texts, until } from '../helpers/devices';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const open: Session[] = [];
afterEach(async () => {
	await Promise.all(open.splice(0).map((session) => session.close()));
});

/** A primary whose clock the test moves, writing each text at its time. */
async function primaryWithHistory(network: MemoryNetwork, clock: { now: number }, history: [number, string][]): Promise<Session> {
	const primary = await Session.createAccount(memoryPlatform(network, () => clock.now), 'Ada', 'Laptop');
	open.push(primary);
	for (const [time, text] of history) {
		clock.now = time;
		await primary.chats.send('self', text);
	}
	return primary;
}

/** Links a new device at `clock.now` and waits until it has synced with the primary. */
async function linkNewDevice(network: MemoryNetwork, primary: Session, clock: Clock, name = 'Phone'): Promise<Session> {
	const platform = memoryPlatform(network, clock);
	const joined = await linkThroughHandshake(primary, platform.transport, (room) => network.transport(room), name, { clock });
	const device = await Session.join(platform, joined);
	open.push(device);
	primary.connect();
	device.connect();
	await until([device], () => device.connection.syncedPeers >= 1 && device.connection.historySynced);
	return device;
}

describe('a new device receives exactly the last year of history', () => {
	// The floor, a year before the link, falls 30 s after the start of a month: its two sides are in two documents.
	const linkAt = Date.UTC(2026, 10, 1, 0, 0, 30) + HISTORY_WINDOW_MS;
	const floor = linkAt - HISTORY_WINDOW_MS;

	it('at its edges: a minute inside is there, a minute outside is not, across a month boundary and within one month', async () => {
		const network = new MemoryNetwork();
		const clock = { now: floor - 400 * DAY };
		const primary = await primaryWithHistory(network, clock, [
			[floor - 400 * DAY, 'two years ago'],
			[floor - MINUTE, 'a year and a minute ago'],
			[floor + MINUTE, 'a year less a minute ago'],
			[floor + 10 * DAY, 'ten days later'],
			[linkAt - DAY, 'yesterday']
		]);
		clock.now = linkAt;
		expect(monthOf(floor - MINUTE)).not.toBe(monthOf(floor + MINUTE));
		const phone = await linkNewDevice(network, primary, () => clock.now);
		expect(texts(phone)).toEqual(['a year less a minute ago', 'ten days later', 'yesterday']);
		expect(texts(primary)).toHaveLength(5);
		// The same link, a day later: the floor moves into the month, whose older part stays behind.
		clock.now = linkAt + DAY;
		for (const device of [primary, phone]) device.check();
		const tablet = await linkNewDevice(network, primary, () => clock.now, 'Tablet');
		expect(texts(tablet)).toEqual(['ten days later', 'yesterday']);
	});

	it('an older device that holds an excerpt of its own first month shares it only as an excerpt, never with devices that have more', async () => {
		const network = new MemoryNetwork();
		const clock = { now: floor - 40 * DAY };
		const primary = await primaryWithHistory(network, clock, [
			[floor - MINUTE, 'outside'],
			[floor + MINUTE, 'inside, first'],
			[floor + 5 * MINUTE, 'inside, second']
		]);
		clock.now = linkAt;
		const phone = await linkNewDevice(network, primary, () => clock.now);
		expect(texts(phone)).toEqual(['inside, first', 'inside, second']);
		// Later, with the primary away, a tablet linked the same day meets only the phone too.
		const tablet = await linkNewDevice(network, primary, () => clock.now, 'Tablet');
		primary.disconnect();
		phone.connect();
		tablet.connect();
		await until([phone, tablet], () => phone.connection.syncedPeers === 1 && tablet.connection.syncedPeers === 1);
		expect(texts(tablet)).toEqual(['inside, first', 'inside, second']);
		expect(texts(phone)).toEqual(['inside, first', 'inside, second']);
		// The primary, back, still holds every message once.
		primary.connect();
		await until([primary], () => primary.connection.syncedPeers === 2);
		expect(texts(primary)).toEqual(['outside', 'inside, first', 'inside, second']);
	});

	it('the receiver refuses history outside its window from a peer that offers it', async () => {
		const network = new MemoryNetwork();
		const clock = { now: floor - 60 * DAY };
		const primary = await primaryWithHistory(network, clock, [
			[floor - 60 * DAY, 'two months too old'],
			[floor - MINUTE, 'a minute too old'],
			[floor + MINUTE, 'inside']
		]);
		// A primary that ignores the window and offers every document whole.
		(primary as unknown as { share: () => boolean }).share = () => true;
		clock.now = linkAt;
		const phone = await linkNewDevice(network, primary, () => clock.now);
		expect(texts(phone)).toEqual(['inside']);
		expect(phone.rejectedFrames).toBeGreaterThan(0);
		// What it refused does not hold up the rest: it is synced, and later messages flow.
		await primary.chats.send('self', 'after the link');
		await until([phone], () => texts(phone).includes('after the link'));
	});
});

describe('the window’s rules', () => {
	const floor = Date.UTC(2025, 10, 15, 12);
	const october = monthTopic('self', '2025-10');
	const november = monthTopic('self', '2025-11');
	const december = monthTopic('self', '2025-12');

	it('shares nothing before a peer’s floor, an excerpt of the month that holds it, the rest whole', () => {
		expect(sharing(october, floor, Number.NEGATIVE_INFINITY)).toEqual({ kind: 'none' });
		expect(sharing(november, floor, Number.NEGATIVE_INFINITY)).toEqual({ kind: 'excerpt', since: floor });
		expect(sharing(december, floor, Number.NEGATIVE_INFINITY)).toEqual({ kind: 'whole' });
		expect(sharing('account', floor, Number.NEGATIVE_INFINITY)).toEqual({ kind: 'whole' });
		// A device holding an excerpt of November: none to a device with an earlier floor, an excerpt to a later one.
		expect(sharing(november, floor - DAY, floor)).toEqual({ kind: 'none' });
		expect(sharing(november, floor + DAY, floor)).toEqual({ kind: 'excerpt', since: floor + DAY });
		expect(sharing(december, floor - DAY, floor)).toEqual({ kind: 'whole' });
	});

	function month(messages: [string, number][]): Y.Doc {
		const doc = new Y.Doc({ gc: false });
		for (const [id, sentAt] of messages) messagesMap(doc).set(id, { id, chatId: 'self', author: 'a', text: id, sentAt });
		return doc;
	}

	it('an excerpt holds only the messages from the floor on, is the same from any device, and passes the receiver’s check', () => {
		const doc = month([['old', floor - MINUTE], ['new', floor + MINUTE], ['newer', floor + DAY]]);
		const cut = excerpt(november, doc, floor);
		const received = new Y.Doc();
		Y.applyUpdate(received, cut);
		expect([...messagesMap(received).keys()].sort()).toEqual(['new', 'newer']);
		const sameMessagesElsewhere = month([['newer', floor + DAY], ['new', floor + MINUTE]]);
		expect(Buffer.from(excerpt(november, sameMessagesElsewhere, floor)).equals(Buffer.from(cut))).toBe(true);
		expect(mayApply(november, cut, floor)).toBe(true);
	});

	it('the receiver refuses its boundary month whole, a diff that builds on what it lacks, and anything wholly before', () => {
		const doc = month([['old', floor - MINUTE], ['new', floor + MINUTE]]);
		expect(mayApply(november, Y.encodeStateAsUpdate(doc), floor)).toBe(false);
		const later = new Y.Doc({ gc: false });
		Y.applyUpdate(later, Y.encodeStateAsUpdate(doc));
		const before = Y.encodeStateVector(later);
		messagesMap(later).delete('new');
		expect(mayApply(november, Y.encodeStateAsUpdate(later, before), floor)).toBe(false);
		expect(mayApply(october, excerpt(october, month([['x', floor - DAY * 40]]), 0), floor)).toBe(false);
		expect(mayApply(december, Y.encodeStateAsUpdate(month([['y', floor + DAY * 20]])), floor)).toBe(true);
		expect(mayApply(november, new Uint8Array([1, 2, 3]), floor)).toBe(false);
	});
});

describe('clearing older history on one device', () => {
	it('deletes the months before the chosen one there, takes none of them again, and leaves the other devices theirs', async () => {
		const network = new MemoryNetwork();
		const clock = { now: Date.UTC(2026, 6, 10) };
		const primary = await primaryWithHistory(network, clock, [
			[Date.UTC(2026, 6, 10), 'July'],
			[Date.UTC(2026, 7, 10), 'August'],
			[Date.UTC(2026, 8, 10), 'September'],
			[Date.UTC(2026, 9, 10), 'October']
		]);
		clock.now = Date.UTC(2026, 9, 20);
		const phone = await linkNewDevice(network, primary, () => clock.now);
		expect(texts(phone)).toEqual(['July', 'August', 'September', 'October']);
		const before = await phone.storage();
		expect(before).toEqual([expect.objectContaining({ chatId: 'self', months: 4 })]);
		expect(before[0]!.bytes).toBeGreaterThan(0);

		expect(await phone.clearHistoryBefore(Date.UTC(2026, 8, 15))).toBe(2);
		expect(texts(phone)).toEqual(['September', 'October']);
		const after = await phone.storage();
		expect(after[0]!.months).toBe(2);
		expect(after[0]!.bytes).toBeLessThan(before[0]!.bytes);

		// Meeting the primary again brings nothing of what was cleared; new messages still arrive.
		phone.disconnect();
		phone.connect();
		await until([phone], () => phone.connection.syncedPeers === 1);
		await primary.chats.send('self', 'November');
		await until([phone], () => texts(phone).includes('November'));
		expect(texts(phone)).toEqual(['September', 'October', 'November']);
		expect(texts(primary)).toEqual(['July', 'August', 'September', 'October', 'November']);
		// And after the app restarts, the choice holds.
		const platform = phone['platform'];
		await phone.close();
		open.splice(open.indexOf(phone), 1);
		const again = (await Session.restore(platform))!;
		open.push(again);
		again.connect();
		await until([again], () => again.connection.syncedPeers === 1);
		await again.chats.show('self', Number.POSITIVE_INFINITY);
		expect(texts(again)).toEqual(['September', 'October', 'November']);
	});
});
