import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/lib/chats/messages';
import { NewMessages } from '../../src/lib/ui/new-messages';
import { dayAt, dayLabel, daysAgo, grownAt, timeline } from '../../src/lib/ui/timeline';

const words = { today: 'Today', yesterday: 'Yesterday' };
/** Wednesday 25 November 2026, 14:30 local time. */
const now = new Date(2026, 10, 25, 14, 30).getTime();
const at = (day: number, hour = 12, month = 10, year = 2026) => new Date(year, month, day, hour).getTime();

function message(id: string, author: string, sentAt: number, text = id): ChatMessage {
	return { id, chatId: 'self', author, text, sentAt };
}

describe('day labels', () => {
	it('says Today, Yesterday, a weekday within the week, then a date', () => {
		expect(dayLabel(at(25, 0), now, 'en', words)).toBe('Today');
		expect(dayLabel(at(24, 23), now, 'en', words)).toBe('Yesterday');
		expect(dayLabel(at(23), now, 'en', words)).toBe('Monday');
		expect(dayLabel(at(23), now, 'nl', { today: 'Vandaag', yesterday: 'Gisteren' })).toBe('maandag');
		expect(dayLabel(at(19), now, 'en', words)).toBe('Thursday');
		expect(dayLabel(at(18), now, 'en', words)).toBe('November 18');
		expect(dayLabel(at(18), now, 'nl', words)).toBe('18 november');
		expect(dayLabel(at(3, 12, 11, 2025), now, 'en', words)).toBe('December 3, 2025');
	});

	it('counts calendar days, not spans of 24 hours', () => {
		expect(daysAgo(at(24, 23), at(25, 0))).toBe(1);
		expect(daysAgo(at(25, 0), at(25, 23))).toBe(0);
		// Across the end of summer time in Europe (25 hours), still one day.
		expect(daysAgo(new Date(2026, 9, 24, 12).getTime(), new Date(2026, 9, 25, 12).getTime())).toBe(1);
	});
});

describe('timeline', () => {
	const names: Record<string, string> = { laptop: 'Laptop', phone: 'Phone' };
	/** What a reader sees, in order: day labels, and bubbles with the device they name. */
	const layout = (messages: ChatMessage[], self = 'laptop') =>
		timeline(messages, self).map((item) =>
			item.kind === 'day' ? dayLabel(item.at, now, 'en', words) : `${item.key}${item.mine ? ' (mine)' : ''}${item.device ? ` from ${names[item.device]}` : ''}`
		);

	it('puts each local day under its separator, once', () => {
		const messages = [message('a', 'laptop', at(24, 9)), message('b', 'laptop', at(24, 22)), message('c', 'laptop', at(25, 8))];
		expect(layout(messages)).toEqual(['Yesterday', 'a (mine)', 'b (mine)', 'Today', 'c (mine)']);
		const keys = timeline(messages, 'laptop').map((item) => item.key);
		expect(new Set(keys).size).toBe(keys.length);
	});

	it('starts a day at local midnight, not at 24 hours after the previous one', () => {
		expect(layout([message('a', 'laptop', at(23, 23)), message('b', 'laptop', at(24, 0)), message('c', 'laptop', at(24, 23)), message('d', 'laptop', at(25, 0))])).toEqual([
			'Monday',
			'a (mine)',
			'Yesterday',
			'b (mine)',
			'c (mine)',
			'Today',
			'd (mine)'
		]);
	});

	it('names no device while this device alone wrote in the chat', () => {
		expect(layout([message('a', 'laptop', at(25, 9)), message('b', 'laptop', at(25, 10))])).toEqual(['Today', 'a (mine)', 'b (mine)']);
	});

	it('names the device at the start of each run once several devices wrote', () => {
		const items = layout([
			message('a', 'laptop', at(25, 9)),
			message('b', 'laptop', at(25, 10)),
			message('c', 'phone', at(25, 11)),
			message('d', 'phone', at(25, 12)),
			message('e', 'laptop', at(25, 13))
		]);
		expect(items).toEqual(['Today', 'a (mine) from Laptop', 'b (mine)', 'c from Phone', 'd', 'e (mine) from Laptop']);
	});

	it('names another device on the first of its messages each day, even when it alone wrote', () => {
		expect(layout([message('a', 'phone', at(24, 9)), message('b', 'phone', at(24, 10)), message('c', 'phone', at(25, 9))])).toEqual([
			'Yesterday',
			'a from Phone',
			'b',
			'Today',
			'c from Phone'
		]);
	});

	it('finds the day a position in the list falls under', () => {
		const items = timeline([message('a', 'laptop', at(24, 9)), message('b', 'laptop', at(24, 10)), message('c', 'laptop', at(25, 9))], 'laptop');
		expect([0, 1, 2, 3, 4].map((index) => dayAt(items, index))).toEqual([0, 0, 0, 3, 3]);
		expect(dayAt([], 0)).toBeUndefined();
	});

	it('tells older messages loaded above from new ones below', () => {
		const month = (from: number, to: number) =>
			timeline(
				Array.from({ length: to - from }, (_, i) => message(`m${from + i}`, 'laptop', at(from + i))),
				'laptop'
			);
		const shown = month(10, 20);
		// The month before loads: the same newest message, more before it.
		expect(grownAt(shown, month(1, 20))).toBe('start');
		// A new message: the list grew at its end.
		expect(grownAt(shown, month(10, 21))).toBe('end');
		// Nothing drawn yet, or nothing new.
		expect(grownAt([], shown)).toBe('end');
		expect(grownAt(shown, shown)).toBe('end');
	});
});

describe('new messages to notify of', () => {
	const chat = (messages: ChatMessage[], readUpTo = 0) => [{ id: 'self', title: 'Message yourself', readUpTo, messages }];

	it('learns what is there at first, then reports unread messages of other devices', () => {
		const arrivals = new NewMessages();
		const old = message('a', 'phone', at(25, 9), 'old');
		expect(arrivals.take(chat([old]), 'laptop')).toEqual([]);
		const mine = message('b', 'laptop', at(25, 10), 'mine');
		const theirs = message('c', 'phone', at(25, 11), 'first');
		const newest = message('d', 'phone', at(25, 12), 'second');
		expect(arrivals.take(chat([old, mine, theirs, newest]), 'laptop')).toEqual([
			{ chatId: 'self', title: 'Message yourself', text: 'second', count: 2 }
		]);
		expect(arrivals.take(chat([old, mine, theirs, newest]), 'laptop')).toEqual([]);
	});

	it('reports a message that arrives late, written before the newest one, while it is unread', () => {
		const arrivals = new NewMessages();
		const first = message('a', 'phone', at(25, 9), 'first');
		const newest = message('c', 'phone', at(25, 11), 'newest');
		arrivals.take(chat([first, newest], at(25, 8)), 'laptop');
		// A device that was offline wrote at 10:00; its message arrives now.
		const late = message('b', 'tablet', at(25, 10), 'late');
		expect(arrivals.take(chat([first, late, newest], at(25, 8)), 'laptop')).toEqual([
			{ chatId: 'self', title: 'Message yourself', text: 'late', count: 1 }
		]);
		// Once read, a message is never news again.
		expect(arrivals.take(chat([first, late, newest], at(25, 12)), 'laptop')).toEqual([]);
	});

	it('stays quiet about messages another device already read', () => {
		const arrivals = new NewMessages();
		arrivals.take(chat([]), 'laptop');
		expect(arrivals.take(chat([message('a', 'phone', at(25, 9))], at(25, 10)), 'laptop')).toEqual([]);
	});
});

describe('lines between messages', () => {
	it('places a device notice before the first message written after it, and leaves out what is before the laid-out history', async () => {
		const { withNotices } = await import('../../src/lib/ui/timeline');
		const at = (hour: number) => new Date(2026, 10, 20, hour).getTime();
		const messages = [1, 3, 5].map((hour) => ({ id: `m${hour}`, chatId: 'c', author: 'd', text: `${hour}`, sentAt: at(hour) }));
		const items = withNotices(timeline(messages, 'd'), [
			{ kind: 'notice', key: 'n0', at: at(0), text: 'too early' },
			{ kind: 'notice', key: 'n4', at: at(4), text: 'linked' },
			{ kind: 'notice', key: 'n6', at: at(6), text: 'later' }
		]);
		expect(items.map((item) => item.key)).toEqual([items[0]!.key, 'm1', 'm3', 'n4', 'm5', 'n6']);
	});
});
