/**
 * How a chat's messages are laid out on screen: grouped by the local calendar day, each day under
 * a label ("Today", "Yesterday", a weekday in the last week, then a date), and the device that
 * wrote a message named only where that tells the reader something. No Svelte, no DOM: the chat
 * view model feeds it the messages; labels and names are made for the few items on screen, with
 * the locale and the clock.
 */
import type { ChatMessage } from '../chats/messages';

/** A message's bubble. */
export interface TimelineMessage {
	kind: 'message';
	/** The message's id. */
	key: string;
	text: string;
	sentAt: number;
	/** Written by this device (in a chat with other accounts: by this account). */
	mine: boolean;
	message: ChatMessage;
	/** The device that wrote it, to be named on this bubble; undefined where its name would only repeat. */
	device?: string;
}

/** The separator above a day's first message; its label is made when it is drawn (it depends on the clock). */
export interface TimelineDay {
	kind: 'day';
	/** "day YYYY-MM-DD": the local calendar day (never a message id, which has no space). */
	key: string;
	/** The time of the day's first message. */
	at: number;
}

/** A line between messages: a member's account linked or removed a device at `at`. */
export interface TimelineNotice {
	kind: 'notice';
	key: string;
	at: number;
	text: string;
}

export type TimelineItem = TimelineDay | TimelineMessage | TimelineNotice;

/**
 * The laid-out items with `notices` placed by time: each before the first message written after
 * it (under that message's day), or at the end. Notices before the first item are left out: they
 * belong to history not laid out.
 */
export function withNotices(items: readonly TimelineItem[], notices: readonly TimelineNotice[]): TimelineItem[] {
	if (notices.length === 0) return items as TimelineItem[];
	const pending = [...notices].sort((a, b) => a.at - b.at);
	const first = items.find((item): item is TimelineMessage => item.kind === 'message');
	while (pending.length > 0 && first && pending[0]!.at < first.sentAt) pending.shift();
	const result: TimelineItem[] = [];
	for (const item of items) {
		if (item.kind === 'message') while (pending.length > 0 && pending[0]!.at < item.sentAt) result.push(pending.shift()!);
		result.push(item);
	}
	result.push(...pending);
	return result;
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

const formats = new Map<string, Intl.DateTimeFormat>();

/** One formatter per locale and style, made once: labels are made as the list scrolls. */
function format(locale: string, style: 'weekday' | 'date' | 'dateYear'): Intl.DateTimeFormat {
	const key = `${locale}/${style}`;
	let made = formats.get(key);
	if (!made) {
		const options: Intl.DateTimeFormatOptions =
			style === 'weekday' ? { weekday: 'long' } : { day: 'numeric', month: 'long', year: style === 'dateYear' ? 'numeric' : undefined };
		formats.set(key, (made = new Intl.DateTimeFormat(locale, options)));
	}
	return made;
}

/** "Today", "Yesterday", "Monday" (up to six days back), "25 November", or "25 November 2025" in another year. */
export function dayLabel(at: number, now: number, locale: string, words: DayWords): string {
	const ago = daysAgo(at, now);
	if (ago === 0) return words.today;
	if (ago === 1) return words.yesterday;
	if (ago > 1 && ago < 7) return format(locale, 'weekday').format(at);
	const sameYear = new Date(at).getFullYear() === new Date(now).getFullYear();
	return format(locale, sameYear ? 'date' : 'dateYear').format(at);
}

/**
 * The messages (sorted, oldest first) as one list: each day's separator, then its bubbles; the
 * list a virtualized view draws a window of. A bubble names its device when it starts a run of
 * messages by that device (first of the day, or after another device wrote), and then only if the
 * name helps: always for another device's messages, for this device's own only when some other
 * device of the account has written in the chat too.
 */
/**
 * `self` is this device; `account`, in a chat with other accounts, this account: there its own
 * messages are the account's, and only they name the device that wrote them (where it has several).
 */
export function timeline(messages: readonly ChatMessage[], self: string, account?: string): (TimelineDay | TimelineMessage)[] {
	let severalAuthors = false;
	const own = (message: ChatMessage) => (account ? message.account === account : true);
	const first = messages.find(own);
	for (const message of messages) {
		if (own(message) && message.author !== first!.author) {
			severalAuthors = true;
			break;
		}
	}
	const items: (TimelineDay | TimelineMessage)[] = [];
	// The current day's bounds in local time: a date is made only where a day begins.
	let dayStart = Number.POSITIVE_INFINITY;
	let dayEnd = Number.NEGATIVE_INFINITY;
	let previous: ChatMessage | undefined;
	for (const message of messages) {
		if (message.sentAt < dayStart || message.sentAt >= dayEnd) {
			const date = new Date(message.sentAt);
			dayStart = new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
			dayEnd = new Date(date.getFullYear(), date.getMonth(), date.getDate() + 1).getTime();
			items.push({ kind: 'day', key: `day ${localDayKey(message.sentAt)}`, at: message.sentAt });
			previous = undefined;
		}
		const mine = account ? message.account === account : message.author === self;
		const startsRun = previous?.author !== message.author;
		const named = account ? mine && startsRun && severalAuthors : startsRun && (!mine || severalAuthors);
		items.push({ kind: 'message', key: message.id, text: message.text, sentAt: message.sentAt, mine, message, device: named ? message.author : undefined });
		previous = message;
	}
	return items;
}

/** The day separator a list position falls under: the nearest one at or before `index`. */
export function dayAt(items: readonly TimelineItem[], index: number): number | undefined {
	for (let i = Math.min(index, items.length - 1); i >= 0; i--) if (items[i]!.kind === 'day') return i;
	return undefined;
}

/**
 * How a new list differs from the one drawn before, for a view that keeps its place: 'start' when
 * the newest item is the same and items came in before it (older months loaded, or history synced
 * in from another device), so the place is kept from the end; 'end' otherwise (a new message, or
 * nothing added).
 */
export function grownAt(before: readonly TimelineItem[], after: readonly TimelineItem[]): 'start' | 'end' {
	const last = before.at(-1);
	return last !== undefined && after.length > before.length && after.at(-1)!.key === last.key ? 'start' : 'end';
}
