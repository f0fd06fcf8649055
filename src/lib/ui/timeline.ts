/**
 * How a chat's messages are laid out on screen: grouped by the local calendar day, each day under
 * a label ("Today", "Yesterday", a weekday in the last week, then a date), and the device that
 * wrote a message named only where that tells the reader something. No Svelte, no DOM: the chat
 * view model feeds it the messages, the locale and the clock.
 */
import type { ChatMessage } from '../chats/messages';

export interface TimelineRow {
	id: string;
	text: string;
	sentAt: number;
	/** Written by this device. */
	mine: boolean;
	/** The name of the device that wrote it, shown on this bubble; undefined where it would only repeat. */
	device?: string;
}

export interface TimelineDay {
	/** The local calendar day, "YYYY-MM-DD". */
	key: string;
	label: string;
	rows: TimelineRow[];
}

export interface DayWords {
	today: string;
	yesterday: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function localDayKey(at: number): string {
	const date = new Date(at);
	const pad = (n: number) => String(n).padStart(2, '0');
	return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function startOfLocalDay(at: number): number {
	const date = new Date(at);
	return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** Whole calendar days from `at` to `now` in local time (a day of 23 or 25 hours still counts as one). */
export function daysAgo(at: number, now: number): number {
	return Math.round((startOfLocalDay(now) - startOfLocalDay(at)) / DAY_MS);
}

/** "Today", "Yesterday", "Monday" (up to six days back), "25 November", or "25 November 2025" in another year. */
export function dayLabel(at: number, now: number, locale: string, words: DayWords): string {
	const ago = daysAgo(at, now);
	if (ago === 0) return words.today;
	if (ago === 1) return words.yesterday;
	if (ago > 1 && ago < 7) return new Intl.DateTimeFormat(locale, { weekday: 'long' }).format(at);
	const sameYear = new Date(at).getFullYear() === new Date(now).getFullYear();
	return new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: sameYear ? undefined : 'numeric' }).format(at);
}

/**
 * The messages (sorted, oldest first) as days of bubbles. A bubble names its device when it starts
 * a run of messages by that device (first of the day, or after another device wrote), and then
 * only if the name helps: always for another device's messages, for this device's own only when
 * some other device of the account has written in the chat too.
 */
export function timeline(
	messages: readonly ChatMessage[],
	self: string,
	deviceName: (id: string) => string,
	dayOf: (at: number) => string
): TimelineDay[] {
	const severalAuthors = new Set(messages.map((message) => message.author)).size > 1;
	const days: TimelineDay[] = [];
	let day: TimelineDay | undefined;
	let previous: ChatMessage | undefined;
	for (const message of messages) {
		const key = localDayKey(message.sentAt);
		if (day?.key !== key) {
			day = { key, label: dayOf(message.sentAt), rows: [] };
			days.push(day);
			previous = undefined;
		}
		const mine = message.author === self;
		const startsRun = previous?.author !== message.author;
		const named = startsRun && (!mine || severalAuthors);
		day.rows.push({ id: message.id, text: message.text, sentAt: message.sentAt, mine, device: named ? deviceName(message.author) : undefined });
		previous = message;
	}
	return days;
}
