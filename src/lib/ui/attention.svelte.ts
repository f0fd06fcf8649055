/**
 * How Samen draws its user back: the unread count in the tab's title ("(3) Samen") and on the
 * installed app's icon (`navigator.setAppBadge`), and a notification for each chat that receives
 * messages while the page is hidden. Notifications need the user's permission, asked only when
 * they press the button in Settings, never on load.
 */
import type { Session } from '../session';
import { NewMessages, type Arrival } from './new-messages';
import { shownUpTo, unreadHere } from './reads.svelte';

export type NotificationPermissionState = NotificationPermission | 'unsupported';

function currentPermission(): NotificationPermissionState {
	return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

export const attention = $state({
	/** The page is on screen (`document.visibilityState`): what a visible open chat shows counts as read. */
	visible: typeof document === 'undefined' || document.visibilityState === 'visible',
	permission: currentPermission()
});

if (typeof document !== 'undefined') {
	document.addEventListener('visibilitychange', () => {
		attention.visible = document.visibilityState === 'visible';
		attention.permission = currentPermission();
	});
}

/** Unread messages on this device, over all chats of the account. */
export function totalUnread(session: Session): number {
	return session.chats.list.reduce((sum, chat) => sum + unreadHere(session, chat.id), 0);
}

/** "(3) Samen", or the bare name with nothing unread; the same count on the app icon where the browser has one. */
export function showUnread(count: number, name: string): void {
	document.title = count > 0 ? `(${count}) ${name}` : name;
	if (!('setAppBadge' in navigator)) return;
	const done = count > 0 ? navigator.setAppBadge(count) : navigator.clearAppBadge();
	// Not an installed app, or badges switched off: the title still shows the count.
	done.catch((error: unknown) => console.info('Samen: no app badge', error));
}

/** Asks for permission to notify; the answer is kept in `attention.permission`. */
export async function askToNotify(): Promise<void> {
	if (typeof Notification === 'undefined') return;
	attention.permission = await Notification.requestPermission();
}

const arrivals = new NewMessages();

/**
 * Notifies of what arrived since the last call, while the page is hidden and permission is given.
 * `open` shows a chat when its notification is clicked.
 */
export function notifyArrivals(session: Session, chatTitle: (id: string) => string, open: (chatId: string) => void): void {
	const chats = session.chats.list.map((chat) => ({
		id: chat.id,
		title: chatTitle(chat.id),
		readUpTo: shownUpTo(session, chat.id),
		messages: session.chats.messages(chat.id)
	}));
	const arrived = arrivals.take(chats, session.self.id);
	if (document.visibilityState !== 'hidden' || currentPermission() !== 'granted') return;
	for (const arrival of arrived) notify(arrival, open);
}

function notify(arrival: Arrival, open: (chatId: string) => void): void {
	const options: NotificationOptions = { body: arrival.text, tag: `chat-${arrival.chatId}`, icon: '/icon-192.png', data: { chatId: arrival.chatId } };
	let notification: Notification;
	try {
		notification = new Notification(arrival.title, options);
	} catch (error) {
		// Chrome on Android shows notifications only through the service worker ("Illegal constructor").
		if (error instanceof TypeError && navigator.serviceWorker) {
			navigator.serviceWorker.ready
				.then((registration) => registration.showNotification(arrival.title, options))
				.catch((failure: unknown) => console.error('Samen: the notification could not be shown', failure));
		} else {
			// A notification that fails must not stop the screen that noticed the message.
			console.error('Samen: the notification could not be shown', error);
		}
		return;
	}
	notification.onclick = () => {
		window.focus();
		open(arrival.chatId);
		notification.close();
	};
}
