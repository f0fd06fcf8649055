/**
 * What kind of screen Samen is on. From 900 px wide the chat list stands beside the open chat;
 * below, the list and a chat are separate screens, as on a phone. On a touch screen the keyboard's
 * Enter key breaks the line (it has no Shift+Enter) and the Send button sends.
 */
import { MediaQuery } from 'svelte/reactivity';

export const WIDE_MIN_PX = 900;
export const wide = new MediaQuery(`min-width: ${WIDE_MIN_PX}px`);
export const touch = new MediaQuery('pointer: coarse');
