/**
 * A group's page: its members, adding contacts (when the creator's rule allows this account), the
 * creator's rule itself, and leaving. The rules are the core's (../chats/shared-chats.ts); this only
 * shows them and turns its refusals into words.
 */
import { ChatError } from '../chats/shared-chats';
import { watched } from './app.svelte';
import { accountName } from './chat-people';

export interface GroupMemberRow {
	accountId: string;
	name: string;
	you: boolean;
	creator: boolean;
}

export interface GroupInfoView {
	title: string;
	members: GroupMemberRow[];
	/** This account may add members now. */
	mayAdd: boolean;
	/** This account made the group, and so sets who may add. */
	isCreator: boolean;
	membersMayAdd: boolean;
	/** Contacts not in the group. */
	candidates: { accountId: string; name: string }[];
	left: boolean;
}

export type GroupInfoErrorKey = 'groupInfo.error.none' | 'groupInfo.error.not-allowed' | 'groupInfo.error.too-many-members' | 'groupInfo.error.not-a-contact';

export class GroupInfo {
	chosen = $state<string[]>([]);
	busy = $state(false);
	error = $state<GroupInfoErrorKey | undefined>();
	/** A failure the user cannot act on by choosing again (storage). */
	failure = $state('');
	added = $state(false);
	confirmingLeave = $state(false);

	constructor(private readonly chatId: () => string) {}

	get view(): GroupInfoView | undefined {
		const session = watched();
		const chat = session?.chats.chat(this.chatId());
		if (!session || !chat || chat.kind !== 'group') return undefined;
		const shared = session.shared;
		const own = session.trust.accountId;
		const creator = shared.creator(chat.id);
		const memberIds = shared.members(chat.id);
		const members = memberIds
			.map((accountId) => ({ accountId, name: accountName(session, accountId, chat.id), you: accountId === own, creator: accountId === creator }))
			.sort((a, b) => Number(b.you) - Number(a.you) || a.name.localeCompare(b.name));
		return {
			title: chat.title,
			members,
			mayAdd: !chat.left && shared.mayAdd(chat.id),
			isCreator: !chat.left && creator === own && memberIds.includes(own),
			membersMayAdd: shared.membersMayAdd(chat.id),
			candidates: session.people.contacts.filter((person) => !memberIds.includes(person.accountId)).map((person) => ({ accountId: person.accountId, name: person.name })),
			left: !!chat.left
		};
	}

	toggle(accountId: string, on: boolean): void {
		this.added = false;
		this.chosen = on ? [...new Set([...this.chosen, accountId])] : this.chosen.filter((id) => id !== accountId);
	}

	async add(): Promise<void> {
		const session = watched();
		if (!session || this.busy) return;
		this.error = undefined;
		this.failure = '';
		this.added = false;
		if (this.chosen.length === 0) return void (this.error = 'groupInfo.error.none');
		this.busy = true;
		try {
			await session.shared.addMembers(this.chatId(), this.chosen);
			this.chosen = [];
			this.added = true;
		} catch (failure) {
			if (failure instanceof ChatError && (failure.code === 'not-allowed' || failure.code === 'too-many-members' || failure.code === 'not-a-contact')) this.error = `groupInfo.error.${failure.code}`;
			else this.failure = (failure as Error).message;
		} finally {
			this.busy = false;
		}
	}

	async setMembersMayAdd(on: boolean): Promise<void> {
		try {
			await watched()?.shared.setMembersMayAdd(this.chatId(), on);
		} catch (failure) {
			this.failure = (failure as Error).message;
		}
	}

	async leave(): Promise<void> {
		const session = watched();
		if (!session || this.busy) return;
		this.busy = true;
		try {
			await session.shared.leave(this.chatId());
			this.confirmingLeave = false;
		} catch (failure) {
			this.failure = (failure as Error).message;
		} finally {
			this.busy = false;
		}
	}
}
