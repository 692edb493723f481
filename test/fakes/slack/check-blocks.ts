/** One Block Kit rule a payload broke, located by JSON pointer the way Slack reports it. */
export interface BlockProblem {
  pointer: string;
  message: string;
}

const BLOCK_TYPES = new Set([
  'actions',
  'context',
  'context_actions',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'table',
  'video',
]);

const ELEMENT_TYPES = new Set([
  'button',
  'channels_select',
  'checkboxes',
  'conversations_select',
  'datepicker',
  'datetimepicker',
  'email_text_input',
  'external_select',
  'file_input',
  'image',
  'multi_channels_select',
  'multi_conversations_select',
  'multi_external_select',
  'multi_static_select',
  'multi_users_select',
  'number_input',
  'overflow',
  'plain_text_input',
  'radio_buttons',
  'rich_text_input',
  'static_select',
  'timepicker',
  'url_text_input',
  'users_select',
  'workflow_button',
]);

type Problems = BlockProblem[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkLength(problems: Problems, value: unknown, pointer: string, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'string') {
    problems.push({ pointer, message: 'must be a string' });
  } else if (value.length > max) {
    problems.push({ pointer, message: `must be less than ${max + 1} characters` });
  }
}

function checkText(problems: Problems, value: unknown, pointer: string, max: number, plainOnly = false): void {
  if (!isRecord(value)) {
    problems.push({ pointer, message: 'must be a text object' });
    return;
  }
  const allowed = plainOnly ? ['plain_text'] : ['plain_text', 'mrkdwn'];
  if (typeof value.type !== 'string' || !allowed.includes(value.type)) {
    problems.push({ pointer: `${pointer}/type`, message: `must be one of ${allowed.join(', ')}` });
  }
  if (typeof value.text !== 'string' || value.text.length === 0) {
    problems.push({ pointer: `${pointer}/text`, message: 'must be more than 0 characters' });
    return;
  }
  checkLength(problems, value.text, `${pointer}/text`, max);
}

function checkConfirm(problems: Problems, value: unknown, pointer: string): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    problems.push({ pointer, message: 'must be a confirmation dialog object' });
    return;
  }
  checkText(problems, value.title, `${pointer}/title`, 100, true);
  checkText(problems, value.text, `${pointer}/text`, 300);
  checkText(problems, value.confirm, `${pointer}/confirm`, 30, true);
  checkText(problems, value.deny, `${pointer}/deny`, 30, true);
  if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger') {
    problems.push({ pointer: `${pointer}/style`, message: 'must be one of primary, danger' });
  }
}

function checkElement(problems: Problems, element: unknown, pointer: string): void {
  if (!isRecord(element) || typeof element.type !== 'string' || !ELEMENT_TYPES.has(element.type)) {
    problems.push({ pointer: `${pointer}/type`, message: 'must be a known element type' });
    return;
  }
  checkLength(problems, element.action_id, `${pointer}/action_id`, 255);
  if (element.type === 'image') {
    checkLength(problems, element.alt_text, `${pointer}/alt_text`, 2000);
    return;
  }
  if (element.type === 'button') {
    checkText(problems, element.text, `${pointer}/text`, 75, true);
    checkLength(problems, element.value, `${pointer}/value`, 2000);
    checkLength(problems, element.url, `${pointer}/url`, 3000);
    if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
      problems.push({ pointer: `${pointer}/style`, message: 'must be one of primary, danger' });
    }
  }
  checkConfirm(problems, element.confirm, `${pointer}/confirm`);
}

function checkElementList(problems: Problems, elements: unknown, pointer: string, max: number, check: (element: unknown, at: string) => void): void {
  if (!Array.isArray(elements) || elements.length === 0) {
    problems.push({ pointer, message: 'must provide at least 1 item' });
    return;
  }
  if (elements.length > max) {
    problems.push({ pointer, message: `must provide at most ${max} items` });
  }
  const actionIds = new Set<string>();
  elements.forEach((element, index) => {
    check(element, `${pointer}/${index}`);
    if (isRecord(element) && typeof element.action_id === 'string') {
      if (actionIds.has(element.action_id)) {
        problems.push({ pointer: `${pointer}/${index}/action_id`, message: `duplicate action_id "${element.action_id}"` });
      }
      actionIds.add(element.action_id);
    }
  });
}

function checkBlock(problems: Problems, block: Record<string, unknown>, pointer: string): void {
  switch (block.type) {
    case 'section':
      if (block.text === undefined && block.fields === undefined) {
        problems.push({ pointer, message: 'must provide either text or fields' });
      }
      if (block.text !== undefined) checkText(problems, block.text, `${pointer}/text`, 3000);
      if (block.fields !== undefined) {
        checkElementList(problems, block.fields, `${pointer}/fields`, 10, (field, at) => checkText(problems, field, at, 2000));
      }
      if (block.accessory !== undefined) checkElement(problems, block.accessory, `${pointer}/accessory`);
      break;
    case 'header':
      checkText(problems, block.text, `${pointer}/text`, 150, true);
      break;
    case 'context':
      checkElementList(problems, block.elements, `${pointer}/elements`, 10, (element, at) => {
        if (isRecord(element) && element.type === 'image') checkElement(problems, element, at);
        else checkText(problems, element, at, 3000);
      });
      break;
    case 'actions':
      checkElementList(problems, block.elements, `${pointer}/elements`, 25, (element, at) => checkElement(problems, element, at));
      break;
    case 'image':
      if (typeof block.image_url !== 'string' && block.slack_file === undefined) {
        problems.push({ pointer: `${pointer}/image_url`, message: 'must provide image_url or slack_file' });
      }
      if (typeof block.alt_text !== 'string') {
        problems.push({ pointer: `${pointer}/alt_text`, message: 'must be a string' });
      }
      checkLength(problems, block.alt_text, `${pointer}/alt_text`, 2000);
      break;
    case 'markdown':
      checkLength(problems, block.text, `${pointer}/text`, 12000);
      break;
    default:
      break;
  }
}

/**
 * Checks `blocks` against Block Kit's documented limits (at most `maxBlocks` blocks; section text <= 3000,
 * header <= 150, button text <= 75, action_id/block_id <= 255, unique block_id and action_id, known types).
 * Returns every problem found; an empty list means Slack would accept the layout.
 */
export function checkBlocks(blocks: unknown, maxBlocks: number, base = '/blocks'): BlockProblem[] {
  const problems: BlockProblem[] = [];
  if (!Array.isArray(blocks)) {
    return [{ pointer: base, message: 'must be an array' }];
  }
  if (blocks.length > maxBlocks) {
    problems.push({ pointer: base, message: `must provide at most ${maxBlocks} items` });
  }
  const blockIds = new Set<string>();
  blocks.forEach((block, index) => {
    const pointer = `${base}/${index}`;
    if (!isRecord(block) || typeof block.type !== 'string' || !BLOCK_TYPES.has(block.type)) {
      problems.push({ pointer: `${pointer}/type`, message: 'must be a known block type' });
      return;
    }
    if (block.block_id !== undefined) {
      checkLength(problems, block.block_id, `${pointer}/block_id`, 255);
      if (typeof block.block_id === 'string') {
        if (blockIds.has(block.block_id)) {
          problems.push({ pointer: `${pointer}/block_id`, message: `duplicate block_id "${block.block_id}"` });
        }
        blockIds.add(block.block_id);
      }
    }
    checkBlock(problems, block, pointer);
  });
  return problems;
}

/** Slack's `response_metadata.messages` lines for a list of problems. */
export function describeBlockProblems(problems: BlockProblem[]): string[] {
  return problems.map((p) => `[ERROR] ${p.message} [json-pointer:${p.pointer}]`);
}
