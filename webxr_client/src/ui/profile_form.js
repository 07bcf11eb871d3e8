// "You" on a screen (desktop, phone): the name shown over your avatar and, if you like, your height, so
// others see you at it. A name is checked with the server's rules before the room is rejoined with it.
import { checkName } from './names.js';

export class ProfileForm {
  /**
   * @param {object} options {toggle: button, getName(), getHeight() (m or null), setName(name) -> error text or null,
   *   setHeight(m) -> bool}
   */
  constructor({ toggle, getName, getHeight, setName, setHeight }) {
    Object.assign(this, { toggle, getName, getHeight, setName, setHeight });
    this.root = Object.assign(document.createElement('aside'), { id: 'profile-panel', hidden: true });
    this.root.setAttribute('role', 'dialog');
    this.root.setAttribute('aria-label', 'Your name and height');
    this.root.innerHTML = `
      <form id="profile-form" novalidate>
        <h2 class="title">You</h2>
        <label class="field">Your name (others see it over your avatar)
          <input id="profile-name" name="name" maxlength="40" autocomplete="nickname" enterkeyhint="done"></label>
        <label class="field">Your height in cm (optional: others see you this tall)
          <input id="profile-height" name="height" type="number" min="100" max="230" step="1" inputmode="numeric"></label>
        <p id="profile-message" class="text" aria-live="polite"></p>
        <div class="row"><button type="submit" id="profile-save">Save</button>
          <button type="button" id="profile-close">Close</button></div>
      </form>`;
    document.body.append(this.root);
    this.form = this.root.querySelector('form');
    this.nameInput = this.root.querySelector('#profile-name');
    this.heightInput = this.root.querySelector('#profile-height');
    this.message = this.root.querySelector('#profile-message');
    toggle.addEventListener('click', () => (this.root.hidden ? this.show() : this.hide()));
    this.root.querySelector('#profile-close').addEventListener('click', () => this.hide());
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.save(); });
  }

  show() {
    this.nameInput.value = this.getName() ?? '';
    const h = this.getHeight();
    this.heightInput.value = h ? String(Math.round(h * 100)) : '';
    this.say('');
    const hud = document.getElementById('hud');
    if (hud) this.root.style.top = `${Math.round(hud.getBoundingClientRect().bottom + 4)}px`;
    this.root.hidden = false;
    this.nameInput.focus();
  }

  hide() {
    this.root.hidden = true;
  }

  say(text, error = false) {
    this.message.textContent = text;
    this.message.classList.toggle('error', error);
  }

  /** Saves the height (if given) and the name (if changed); says what happened. */
  async save() {
    const heightText = this.heightInput.value.trim();
    if (heightText) {
      const cm = Number(heightText);
      if (!Number.isFinite(cm) || cm < 100 || cm > 230) return this.say('Your height: between 100 and 230 cm, please.', true);
      this.setHeight(cm / 100);
    }
    const checked = checkName(this.nameInput.value);
    if (checked.error) return this.say(checked.error, true);
    if (checked.name !== this.getName()) {
      this.say(`Changing your name to ${checked.name}…`);
      const error = await this.setName(checked.name);
      if (error) return this.say(error, true);
    }
    this.say(`Saved: you are ${checked.name}${heightText ? `, ${heightText} cm` : ''}.`);
    return true;
  }
}
