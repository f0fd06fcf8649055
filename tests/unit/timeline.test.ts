import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/lib/chats/messages';
import { NewMessages } from '../../src/lib/ui/new-messages';
import { dayLabel, daysAgo, timeline } from '../../src/lib/ui/timeline';

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
	const layout = (messages: ChatMessage[], self = 'laptop') =>
		timeline(messages, self, (id) => names[id] ?? '?', (time) => dayLabel(time, now, 'en', words));

	it('groups messages under their local day', () => {
		const days = layout([message('a', 'laptop', at(24, 9)), message('b', 'laptop', at(24, 22)), message('c', 'laptop', at(25, 8))]);
		expect(days.map((day) => [day.label, day.rows.map((row) => row.id)])).toEqual([
			['Yesterday', ['a', 'b']],
			['Today', ['c']]
		]);
	});

	it('names no device while this device alone wrote in the chat', () => {
		const days = layout([message('a', 'laptop', at(25, 9)), message('b', 'laptop', at(25, 10))]);
		expect(days[0]!.rows.map((row) => row.device)).toEqual([undefined, undefined]);
		expect(days[0]!.rows.every((row) => row.mine)).toBe(true);
	});

	it('names the device at the start of each run once several devices wrote', () => {
		const days = layout([
			message('a', 'laptop', at(25, 9)),
			message('b', 'laptop', at(25, 10)),
			message('c', 'phone', at(25, 11)),
			message('d', 'phone', at(25, 12)),
			message('e', 'laptop', at(25, 13))
		]);
		expect(days[0]!.rows.map((row) => row.device)).toEqual(['Laptop', undefined, 'Phone', undefined, 'Laptop']);
	});

	it('names another device on the first of its messages each day, even when it alone wrote', () => {
		const days = layout([message('a', 'phone', at(24, 9)), message('b', 'phone', at(24, 10)), message('c', 'phone', at(25, 9))]);
		expect(days.map((day) => day.rows.map((row) => row.device))).toEqual([['Phone', undefined], ['Phone']]);
		expect(days[0]!.rows[0]!.mine).toBe(false);
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

	it('stays quiet about messages another device already read', () => {
		const arrivals = new NewMessages();
		arrivals.take(chat([]), 'laptop');
		expect(arrivals.take(chat([message('a', 'phone', at(25, 9))], at(25, 10)), 'laptop')).toEqual([]);
	});
});
