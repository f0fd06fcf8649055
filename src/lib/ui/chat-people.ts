/**
 * What a message's bubble shows of the people in a chat shared with other accounts: who wrote it
 * (in a group, for another account's message), from which of this account's devices (only where
 * the account has several), its receipt, its reactions, and the message it replies to. Made for
 * the bubbles on screen only, by the chat's view model.
 */
import type { ChatRecord } from '../account/document';
import type { ChatMessage } from '../chats/messages';
import type { Receipt } from '../chats/shared-chats';
import { t } from '../i18n/index.svelte';
import type { Session } from '../session';

export interface BubbleView {
	message: ChatMessage;
	/** Written by this account (in the self chat: by this device). */
	mine: boolean;
	/** The author's name, in a group, for another account's message. */
	sender?: string;
	/** The device that wrote it, where naming it helps. */
	device?: string;
	receipt?: Receipt;
	reactions: { emoji: string; count: number; mine: boolean }[];
	quote?: { sender: string; text: string };
	/** This account may edit it and delete it for everyone. */
	ours: boolean;
}

/** How an account is called: its contact name, else (in a chat) the name its member record gives it. */
export function accountName(session: Session, accountId: string | undefined, chatId?: string): string {
	if (!accountId || accountId === session.trust.accountId) return t('chat.you');
	return session.people.get(accountId)?.name || (chatId && session.shared.memberName(chatId, accountId)) || t('chat.someone');
}

export function bubbleView(session: Session, chat: ChatRecord, message: ChatMessage, byId: (id: string) => ChatMessage | undefined, device?: string): BubbleView {
	const shared = chat.kind !== 'self';
	const own = session.trust.accountId;
	const ours = shared ? message.account === own : true;
	const reactions: BubbleView['reactions'] = [];
	if (shared) {
		for (const [emoji, accounts] of session.shared.reactions(message)) reactions.push({ emoji, count: accounts.length, mine: accounts.includes(own) });
	}
	let quote: BubbleView['quote'];
	if (message.reply) {
		const quoted = byId(message.reply);
		quote = quoted
			? { sender: accountName(session, quoted.account, chat.id), text: quoted.deleted ? t('chat.deleted') : quoted.text }
			: { sender: '', text: t('chat.quoteMissing') };
	}
	return {
		message,
		mine: shared ? ours : message.author === session.self.id,
		sender: chat.kind === 'group' && !ours ? accountName(session, message.account, chat.id) : undefined,
		device,
		receipt: shared && ours ? session.shared.receipt(message) : undefined,
		reactions,
		quote,
		ours: ours && !message.deleted
	};
}
