/**
 * Slack's Block Kit rules as the sandbox enforces them (block and element types, text limits, 50/100-block
 * limits, unique ids, options matching their initial values), and the ids Slack fills in. Pure: no state, no I/O.
 */
import { randomBytes } from 'node:crypto';
import type { SlackObject } from './types.js';

export type Surface = 'message' | 'modal' | 'home';
const BLOCK_LIMITS: Record<Surface, number> = { message: 50, modal: 100, home: 100 };
const KNOWN_BLOCKS = new Set(['section', 'divider', 'image', 'actions', 'context', 'input', 'header', 'rich_text', 'video', 'file', 'markdown', 'call']);
const KNOWN_ELEMENTS = new Set([
  'button', 'checkboxes', 'datepicker', 'datetimepicker', 'email_text_input', 'image', 'multi_static_select',
  'multi_external_select', 'multi_users_select', 'multi_conversations_select', 'multi_channels_select',
  'number_input', 'overflow', 'plain_text_input', 'radio_buttons', 'rich_text_input', 'static_select',
  'external_select', 'users_select', 'conversations_select', 'channels_select', 'timepicker', 'url_text_input',
  'workflow_button', 'file_input',
]);

/** Block Kit problems in Slack's `response_metadata.messages` format; empty when valid. */
export function validateBlocks(blocks: unknown, surface: Surface, pointer = '/blocks'): string[] {
  const v = new BlockValidator();
  v.blocks(blocks, surface, pointer);
  return v.problems;
}

/** Problems with a modal or home view object (title limits, submit needed for inputs, its blocks). */
export function validateView(view: unknown, kind: 'modal' | 'home', pointer = '/view'): string[] {
  const v = new BlockValidator();
  if (!isObject(view)) return [`[ERROR] must provide an object [json-pointer:${pointer}]`];
  if (view.type !== kind) v.fail(`must be "${kind}"`, `${pointer}/type`);
  if (kind === 'modal') {
    v.text(view.title, `${pointer}/title`, { max: 24, plainOnly: true });
    v.text(view.submit, `${pointer}/submit`, { max: 24, plainOnly: true, optional: true });
    v.text(view.close, `${pointer}/close`, { max: 24, plainOnly: true, optional: true });
    const hasInputs = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === 'input');
    if (hasInputs && !view.submit) v.fail('submit is required when using input blocks', `${pointer}/submit`);
  }
  v.maxLength(view.private_metadata, 3000, `${pointer}/private_metadata`);
  v.maxLength(view.callback_id, 255, `${pointer}/callback_id`);
  v.maxLength(view.external_id, 255, `${pointer}/external_id`);
  v.blocks(view.blocks, kind, `${pointer}/blocks`);
  return v.problems;
}

class BlockValidator {
  readonly problems: string[] = [];
  private readonly actionIds = new Set<string>();
  private readonly blockIds = new Set<string>();

  fail(message: string, pointer: string): void {
    this.problems.push(`[ERROR] ${message} [json-pointer:${pointer}]`);
  }

  maxLength(value: unknown, max: number, pointer: string): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'string') this.fail('must be a string', pointer);
    else if (value.length > max) this.fail(`must be less than ${max + 1} characters`, pointer);
  }

  text(value: unknown, pointer: string, opts: { max: number; plainOnly?: boolean; optional?: boolean }): void {
    if (value === undefined || value === null) {
      if (!opts.optional) this.fail('must provide an object', pointer);
      return;
    }
    if (!isObject(value)) return this.fail('must be an object', pointer);
    if (value.type !== 'plain_text' && (opts.plainOnly || value.type !== 'mrkdwn')) {
      this.fail(opts.plainOnly ? 'must be "plain_text"' : 'must be a valid enum value', `${pointer}/type`);
    }
    if (typeof value.text !== 'string' || value.text.length === 0) this.fail('must be more than 0 characters', `${pointer}/text`);
    else if (value.text.length > opts.max) this.fail(`must be less than ${opts.max + 1} characters`, `${pointer}/text`);
  }

  blocks(blocks: unknown, surface: Surface, pointer: string): void {
    if (!Array.isArray(blocks)) {
      if (blocks !== undefined) this.fail('must be an array', pointer);
      return;
    }
    const limit = BLOCK_LIMITS[surface];
    if (blocks.length > limit) this.fail(`no more than ${limit} items allowed`, pointer);
    blocks.forEach((block, i) => this.block(block, `${pointer}/${i}`));
  }

  private block(block: unknown, pointer: string): void {
    if (!isObject(block)) return this.fail('must be an object', pointer);
    if (block.block_id !== undefined) {
      this.maxLength(block.block_id, 255, `${pointer}/block_id`);
      if (this.blockIds.has(block.block_id)) this.fail(`duplicate block_id "${block.block_id}"`, `${pointer}/block_id`);
      this.blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'section':
        if (block.text === undefined && block.fields === undefined) this.fail('must provide either text or fields', pointer);
        if (block.text !== undefined) this.text(block.text, `${pointer}/text`, { max: 3000 });
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields)) this.fail('must be an array', `${pointer}/fields`);
          else {
            if (block.fields.length > 10) this.fail('no more than 10 items allowed', `${pointer}/fields`);
            block.fields.forEach((field, i) => this.text(field, `${pointer}/fields/${i}`, { max: 2000 }));
          }
        }
        if (block.accessory !== undefined) this.element(block.accessory, `${pointer}/accessory`);
        return;
      case 'header':
        return this.text(block.text, `${pointer}/text`, { max: 150, plainOnly: true });
      case 'context':
        return this.elementList(block.elements, `${pointer}/elements`, 10, (element, p) => {
          if (isObject(element) && element.type === 'image') this.image(element, p);
          else this.text(element, p, { max: 3000 });
        });
      case 'actions':
        return this.elementList(block.elements, `${pointer}/elements`, 25, (element, p) => this.element(element, p));
      case 'input':
        this.text(block.label, `${pointer}/label`, { max: 2000, plainOnly: true });
        this.text(block.hint, `${pointer}/hint`, { max: 2000, plainOnly: true, optional: true });
        if (block.element === undefined) return this.fail('must provide an object', `${pointer}/element`);
        return this.element(block.element, `${pointer}/element`);
      case 'image':
        return this.image(block, pointer);
      default:
        if (!KNOWN_BLOCKS.has(block.type)) this.fail(`unsupported block type "${String(block.type)}"`, `${pointer}/type`);
    }
  }

  private elementList(elements: unknown, pointer: string, max: number, check: (element: unknown, pointer: string) => void): void {
    if (!Array.isArray(elements) || elements.length === 0) return this.fail('must provide a non-empty array', pointer);
    if (elements.length > max) this.fail(`no more than ${max} items allowed`, pointer);
    elements.forEach((element, i) => check(element, `${pointer}/${i}`));
  }

  private image(image: SlackObject, pointer: string): void {
    if (typeof image.image_url !== 'string' && !isObject(image.slack_file)) this.fail('must provide image_url or slack_file', pointer);
    if (typeof image.alt_text !== 'string' || image.alt_text === '') this.fail('must be more than 0 characters', `${pointer}/alt_text`);
    else this.maxLength(image.alt_text, 2000, `${pointer}/alt_text`);
  }

  private element(element: unknown, pointer: string): void {
    if (!isObject(element)) return this.fail('must be an object', pointer);
    if (!KNOWN_ELEMENTS.has(element.type)) return this.fail(`unsupported element type "${String(element.type)}"`, `${pointer}/type`);
    if (element.action_id !== undefined) {
      this.maxLength(element.action_id, 255, `${pointer}/action_id`);
      if (this.actionIds.has(element.action_id)) this.fail(`duplicate action_id "${element.action_id}"`, `${pointer}/action_id`);
      this.actionIds.add(element.action_id);
    }
    this.text(element.placeholder, `${pointer}/placeholder`, { max: 150, plainOnly: true, optional: true });
    switch (element.type) {
      case 'button':
        this.text(element.text, `${pointer}/text`, { max: 75, plainOnly: true });
        this.maxLength(element.value, 2000, `${pointer}/value`);
        this.maxLength(element.url, 3000, `${pointer}/url`);
        if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') this.fail('must be a valid enum value', `${pointer}/style`);
        return;
      case 'static_select':
      case 'multi_static_select': {
        const options = this.selectOptions(element, pointer);
        const values = new Set(options.map((o) => o.value));
        const initial = element.type === 'static_select' ? (element.initial_option ? [element.initial_option] : []) : (element.initial_options ?? []);
        for (const option of initial) if (!isObject(option) || !values.has(option.value)) this.fail('initial option must match one of the options', pointer);
        return;
      }
      case 'overflow':
        this.optionList(element.options, `${pointer}/options`, 5, false);
        return;
      case 'radio_buttons':
      case 'checkboxes': {
        const options = this.optionList(element.options, `${pointer}/options`, 10, true);
        const values = new Set(options.map((o) => o.value));
        const initial = element.type === 'radio_buttons' ? (element.initial_option ? [element.initial_option] : []) : (element.initial_options ?? []);
        for (const option of initial) if (!isObject(option) || !values.has(option.value)) this.fail('initial option must match one of the options', pointer);
        return;
      }
      case 'plain_text_input':
        if (element.max_length !== undefined && !(element.max_length >= 1 && element.max_length <= 3000)) this.fail('must be between 1 and 3000', `${pointer}/max_length`);
        if (element.min_length !== undefined && !(element.min_length >= 0 && element.min_length <= 3000)) this.fail('must be between 0 and 3000', `${pointer}/min_length`);
        return this.maxLength(element.initial_value, 3000, `${pointer}/initial_value`);
      case 'datepicker':
        if (element.initial_date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(String(element.initial_date))) this.fail('must be in YYYY-MM-DD format', `${pointer}/initial_date`);
        return;
      default:
        return;
    }
  }

  private selectOptions(element: SlackObject, pointer: string): SlackObject[] {
    if (element.options !== undefined) return this.optionList(element.options, `${pointer}/options`, 100, false);
    if (!Array.isArray(element.option_groups)) {
      this.fail('must provide options or option_groups', pointer);
      return [];
    }
    if (element.option_groups.length > 100) this.fail('no more than 100 items allowed', `${pointer}/option_groups`);
    return element.option_groups.flatMap((group: unknown, i: number) => {
      const p = `${pointer}/option_groups/${i}`;
      if (!isObject(group)) {
        this.fail('must be an object', p);
        return [];
      }
      this.text(group.label, `${p}/label`, { max: 75, plainOnly: true });
      return this.optionList(group.options, `${p}/options`, 100, false);
    });
  }

  private optionList(options: unknown, pointer: string, max: number, allowMrkdwn: boolean): SlackObject[] {
    if (!Array.isArray(options) || options.length === 0) {
      this.fail('must provide a non-empty array', pointer);
      return [];
    }
    if (options.length > max) this.fail(`no more than ${max} items allowed`, pointer);
    const valid: SlackObject[] = [];
    options.forEach((option, i) => {
      const p = `${pointer}/${i}`;
      if (!isObject(option)) return this.fail('must be an object', p);
      this.text(option.text, `${p}/text`, { max: 75, plainOnly: !allowMrkdwn });
      if (typeof option.value !== 'string' || option.value === '') this.fail('must be more than 0 characters', `${p}/value`);
      else this.maxLength(option.value, 150, `${p}/value`);
      this.text(option.description, `${p}/description`, { max: 75, plainOnly: !allowMrkdwn, optional: true });
      valid.push(option);
    });
    return valid;
  }
}

export function isObject(value: unknown): value is SlackObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Slack gives blocks and elements without ids generated ones; state.values and payloads are keyed by them. */
export function fillIds(blocks: SlackObject[]): SlackObject[] {
  const copy = structuredClone(blocks);
  const fillAction = (element: unknown) => {
    if (isObject(element) && element.type !== 'image' && element.action_id === undefined && KNOWN_ELEMENTS.has(element.type)) element.action_id = shortId();
  };
  for (const block of copy) {
    if (!isObject(block)) continue;
    if (block.block_id === undefined) block.block_id = shortId();
    if (block.type === 'actions' && Array.isArray(block.elements)) block.elements.forEach(fillAction);
    if (block.type === 'input') fillAction(block.element);
    if (block.type === 'section') fillAction(block.accessory);
  }
  return copy;
}

function shortId(): string {
  return randomBytes(4).toString('base64url').slice(0, 5);
}
