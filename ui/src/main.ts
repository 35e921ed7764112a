import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { askFirstListPage } from './lib/firstpage';

const target = document.getElementById('app');
if (!target) throw new Error('The page has no #app element to mount Bookline into.');

// Before mounting: the answer comes while the window lays out (lib/askahead.ts).
askFirstListPage();

export default mount(App, { target });
