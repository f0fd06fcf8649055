/**
 * The open chat's state: its title, its newest messages laid out by day (./timeline.ts, made again
 * only when they change; more as the user scrolls back), the draft in the composer, and what went
 * wrong sending. A visible chat marks what it shows as read; a hidden one
 * leaves it unread, so that the title, the badge and notifications still count it.
 */
import { MessageError } from '../chats/chats';
import { compareMessages, type ChatMessage } from '../chats/messages';
import type { Session } from '../session';
import { i18n, t } from '../i18n/index.svelte';
import { watched } from './app.svelte';
import { attention } from './attention.svelte';
import { markShown } from './reads.svelte';
import { bubbleView, accountName, type BubbleView } from './chat-people';
import { chatTitle } from './contacts.svelte';
import { dayLabel, timeline, withNotices, type TimelineItem, type TimelineMessage, type TimelineNotice } from './timeline';

export interface ChatWindowView {
	title: string;
	/** A chat with other accounts: its messages can be replied to and reacted to. */
	shared: boolean;
	/** The group's or the contact's page. */
	info?: string;
	/** The messages laid out and the days they fall on, oldest first (the list draws those on screen). */
	items: readonly TimelineItem[];
	count: number;
	/** The chat has months older than those loaded (they load as the list is scrolled back). */
	hasOlder: boolean;
	/** The clock the day labels are made with. */
	now: number;
}

/**
 * Messages laid out when a chat opens, and how many more each step back adds. The list draws only
 * what is on screen, but laying out every loaded message (a device can hold a chat's whole history
 * open) would make opening the chat, and every new message, cost the whole history.
 */
export const MESSAGES_LAID_OUT = 200;
export const MORE_LAID_OUT = 500;

export class ChatWindow {
	draft = $state('');
	error = $state('');
	/** The message the draft replies to. */
	replyTo = $state<ChatMessage | undefined>();
	/** This account's message the draft edits. */
	editing = $state<ChatMessage | undefined>();
	/**
	 * The oldest message laid out: the list runs from it to the newest, so new messages add to its
	 * end and steps back to its start. Null: from the chat's first message. Set once the chat is
	 * open; until then the newest messages are laid out.
	 */
	private from?: ChatMessage | null;
	/** Rises when `from` moves back, so that the view is made again. */
	private steps = $state(0);
	/** The last layout and what it was made of: a change elsewhere in the session reuses it. */
	private laidOut?: { messages: readonly ChatMessage[]; start: number; membersKey: string; items: TimelineItem[] };

	constructor(private readonly chatId: () => string) {}

	get view(): ChatWindowView | undefined {
		const session = watched();
		const chatId = this.chatId();
		const chat = session?.chats.chat(chatId);
		if (!session || !chat) return undefined;
		const messages = session.chats.messages(chatId);
		void this.steps;
		const start = this.start(messages);
		// Members come and go without a message: their lines are laid out again when they change.
		const members = this.memberNotices(chat);
		const membersKey = members.map((notice) => notice.key).join('|');
		if (this.laidOut?.messages !== messages || this.laidOut.start !== start || this.laidOut.membersKey !== membersKey) {
			const account = chat.kind === 'self' ? undefined : session.trust.accountId;
			const items = timeline(start > 0 ? messages.slice(start) : messages, session.self.id, account);
			this.laidOut = { messages, start, membersKey, items: withNotices(items, [...this.deviceNotices(chat), ...members]) };
		}
		return {
			title: chat.kind === 'self' ? t('chats.self') : chatTitle(session, chat),
			shared: chat.kind !== 'self',
			info: chat.kind === 'group' ? `/groups/view?id=${encodeURIComponent(chatId)}` : chat.kind === 'direct' && chat.members?.[0] ? `/contacts/view?id=${encodeURIComponent(chat.members[0])}` : undefined,
			items: this.laidOut.items,
			count: messages.length - start,
			hasOlder: start > 0 || session.chats.hasOlder(chatId),
			now: Date.now()
		};
	}

	/** A day separator's label: "Today", "Yesterday", a weekday, a date. */
	dayLabel(at: number, now: number): string {
		return dayLabel(at, now, i18n.locale, { today: t('chat.today'), yesterday: t('chat.yesterday') });
	}

	/** The name a bubble shows for the device that wrote it. */
	deviceName(device: string): string {
		return watched()?.deviceName(device) ?? t('chat.unknownDevice');
	}

	/** Lines for the other members' accounts linking or removing devices since the chat began. */
	/** A group's lines for members added and leaving. */
	private memberNotices(chat: { id: string; kind: string }): TimelineNotice[] {
		const session = watched();
		if (!session || chat.kind !== 'group') return [];
		return session.shared.memberEvents(chat.id).map((event) => ({
			kind: 'notice',
			key: `member ${event.kind} ${event.account} ${event.at}`,
			at: event.at,
			text: this.memberLine(session, chat.id, event)
		}));
	}

	private memberLine(session: Session, chatId: string, event: { kind: 'added' | 'left'; account: string; by?: string }): string {
		const you = event.account === session.trust.accountId;
		if (event.kind === 'left') return you ? t('chat.youLeft') : t('chat.memberLeft', { name: accountName(session, event.account, chatId) });
		const by = accountName(session, event.by, chatId);
		return you ? t('chat.memberAddedYou', { by }) : t('chat.memberAdded', { by, name: accountName(session, event.account, chatId) });
	}

	private deviceNotices(chat: { kind: string; createdAt: number }): TimelineNotice[] {
		const session = watched();
		if (!session || chat.kind === 'self') return [];
		const notices: TimelineNotice[] = [];
		for (const accountId of session.shared.members(this.chatId())) {
			if (accountId === session.trust.accountId) continue;
			const name = accountName(session, accountId, this.chatId());
			for (const notice of session.people.deviceNotices(accountId)) {
				if (notice.at < chat.createdAt) continue;
				if (notice.added > 0) notices.push({ kind: 'notice', key: `notice ${accountId} ${notice.at} added`, at: notice.at, text: t('chat.linkedDevice', { name }) });
				if (notice.removed > 0) notices.push({ kind: 'notice', key: `notice ${accountId} ${notice.at} removed`, at: notice.at, text: t('chat.removedDevice', { name }) });
			}
		}
		return notices;
	}

	/** What one bubble on screen shows: made only for those drawn. */
	bubble(item: TimelineMessage): BubbleView | undefined {
		const session = watched();
		const chat = session?.chats.chat(this.chatId());
		if (!session || !chat) return undefined;
		const byId = (id: string) => this.laidOut?.messages.find((message) => message.id === id);
		return bubbleView(session, chat, item.message, byId, item.device && this.deviceName(item.device));
	}

	/** The name the composer shows above a reply. */
	replyName(): string {
		const session = watched();
		return session && this.replyTo ? accountName(session, this.replyTo.account, this.chatId()) : '';
	}

	startReply(message: ChatMessage): void {
		this.editing = undefined;
		this.replyTo = message;
	}

	startEdit(message: ChatMessage): void {
		this.replyTo = undefined;
		this.editing = message;
		this.draft = message.text;
	}

	cancelCompose(): void {
		if (this.editing) this.draft = '';
		this.replyTo = undefined;
		this.editing = undefined;
	}

	async react(message: ChatMessage, emoji: string): Promise<void> {
		await watched()?.shared.react(message, emoji);
	}

	/** Deletes one of this account's messages for everyone, once the user confirmed. */
	async remove(message: ChatMessage): Promise<void> {
		const session = watched();
		if (!session || !confirm(t('chat.confirmDelete'))) return;
		try {
			await session.chats.change(message, { deleted: true });
		} catch (failure) {
			this.error = t('chat.sendFailed', { reason: (failure as Error).message });
		}
	}

	/** Where the layout starts in the chat's loaded messages. */
	private start(messages: readonly ChatMessage[]): number {
		if (this.from === null) return 0;
		if (this.from === undefined) return Math.max(0, messages.length - MESSAGES_LAID_OUT);
		return firstFrom(messages, this.from);
	}

	/** Opens the chat at its newest messages: the months they are in are loaded, no older ones. */
	async open(): Promise<void> {
		this.from = undefined;
		this.steps++;
		const chats = watched()?.chats;
		if (!chats) return;
		await chats.show(this.chatId());
		const messages = chats.messages(this.chatId());
		this.from = messages.length > MESSAGES_LAID_OUT ? messages[messages.length - MESSAGES_LAID_OUT] : null;
		this.steps++;
	}

	/** Lays out older messages: more of those loaded, or else the month before; false when there are none. */
	async showOlder(): Promise<boolean> {
		const chats = watched()?.chats;
		if (!chats) return false;
		let messages = chats.messages(this.chatId());
		let start = this.start(messages);
		if (start === 0) {
			// Everything loaded is laid out: the month before, from where the layout starts now.
			const first = messages[0];
			if (!(await chats.showOlder(this.chatId()))) return false;
			messages = chats.messages(this.chatId());
			start = first ? firstFrom(messages, first) : messages.length;
		}
		this.from = messages[Math.max(0, start - MORE_LAID_OUT)] ?? null;
		this.steps++;
		return true;
	}

	/** Everything in the chat counts as read, here and for the account, when the user can see it. */
	markRead(): void {
		const session = watched();
		if (!session || !attention.visible) return;
		session.chats.markRead(this.chatId());
		markShown(session, this.chatId());
	}

	/** Sends the draft; true when it was saved (and the draft emptied). */
	async send(): Promise<boolean> {
		const session = watched();
		if (!session || !this.draft.trim()) return false;
		// The box empties at once: what is typed while the message is being stored is the next one.
		const text = this.draft;
		const { replyTo, editing } = this;
		this.draft = '';
		this.replyTo = undefined;
		this.editing = undefined;
		try {
			if (editing) await session.chats.change(editing, { text });
			else await session.chats.send(this.chatId(), text, { reply: replyTo?.id });
			this.error = '';
			return true;
		} catch (failure) {
			if (!this.draft) this.draft = text;
			this.replyTo = replyTo;
			this.editing = editing;
			if (!(failure instanceof MessageError)) this.error = t('chat.sendFailed', { reason: (failure as Error).message });
			else if (failure.code === 'too-long') this.error = t('chat.tooLong');
			else if (failure.code === 'empty') this.error = t('chat.empty-message');
			else this.error = t('chat.notFound');
			return false;
		}
	}
}

/** Where `from` is, or would be, in the sorted messages. */
function firstFrom(messages: readonly ChatMessage[], from: ChatMessage): number {
	let low = 0;
	let high = messages.length;
	while (low < high) {
		const middle = (low + high) >>> 1;
		if (compareMessages(messages[middle]!, from) < 0) low = middle + 1;
		else high = middle;
	}
	return low;
}
