// i18n.js -- the console's words in Chinese and English, the glossary's
// (README, Glossary). The choice is kept in localStorage: it is no secret.
const WORDS = {
  title: ['营配贯通 工作台', 'Grid–customer console'],
  signin: ['登录', 'Sign in'],
  signout: ['退出', 'Sign out'],
  key: ['密钥', 'Key'],
  key_hint: ['输入应用的密钥（仅保存在本标签页）', 'The app\'s key (kept in this tab only)'],
  key_refused: ['密钥不正确：平台未接受此密钥', 'Wrong key: the platform did not accept it'],
  signed_in_as: ['应用', 'App'],
  roles: ['角色', 'roles'],
  nav_search: ['查询', 'Search'],
  nav_impact: ['停电影响', 'Outage impact'],
  nav_outages: ['停电与通知', 'Outages'],
  nav_report: ['贯通率', 'Integration'],
  nav_events: ['事件', 'Events'],
  search_hint: ['编码、名称、户号或资产编号', 'Code, name, account or asset number'],
  search: ['查询', 'Search'],
  no_results: ['没有找到', 'Nothing found'],
  partial: ['部分结果：另一平台未答复', 'Partial: the other platform did not answer'],
  code: ['编码', 'Code'],
  name: ['名称', 'Name'],
  type: ['类型', 'Type'],
  platform: ['平台', 'Platform'],
  matched: ['匹配', 'Matched'],
  fields: ['属性', 'Fields'],
  history: ['历史', 'History'],
  links: ['连接关系', 'Links'],
  chain: ['供电链路', 'Supply chain'],
  up: ['向上', 'Up'],
  down: ['向下', 'Down'],
  both: ['上下', 'Up and down'],
  state: ['状态', 'State'],
  current: ['当前运行方式', 'As operated'],
  normal: ['正常运行方式', 'Normal arrangement'],
  other_platform: ['另一平台的对象', 'The other platform\'s object'],
  open: ['分', 'open'],
  closed: ['合', 'closed'],
  graph_capped: ['只画出 {n} 个节点（共 {total} 个）', 'Drawn: {n} of {total} nodes'],
  impact_of: ['停电影响', 'Outage impact'],
  impact_hint: ['停电的对象编码，用逗号分隔', 'Codes of the elements out, comma-separated'],
  ask: ['查询', 'Ask'],
  total: ['合计', 'Total'],
  customers: ['客户', 'Customers'],
  by_category: ['按客户类别', 'By category'],
  more: ['更多', 'More'],
  export_csv: ['导出 CSV', 'Export CSV'],
  restorable: ['可转供的开关', 'Restorable switches'],
  restorable_none: ['没有可转供的开关', 'No switch would bring any back'],
  would_restore: ['合上可恢复 {n} 户', 'closing brings back {n}'],
  close_switch: ['合闸', 'Close'],
  open_switch: ['分闸', 'Open'],
  operate_title: ['操作开关', 'Operate a switch'],
  operate_text: ['{action} {name}？此操作会改变电网的运行方式。', '{action} {name}? This changes how the grid is operated.'],
  operated: ['已操作：{name} 现在{state}', 'Operated: {name} is now {state}'],
  reason: ['原因', 'Reason'],
  cancel: ['取消', 'Cancel'],
  confirm: ['确认', 'Confirm'],
  phone: ['电话', 'Phone'],
  address: ['地址', 'Address'],
  category: ['类别', 'Category'],
  outages: ['停电', 'Outages'],
  predicted: ['预测停电（报修汇聚）', 'Predicted outages (from trouble calls)'],
  predicted_none: ['没有预测停电', 'No outage predicted'],
  calls: ['报修', 'Calls'],
  kind: ['种类', 'Kind'],
  starts_at: ['开始', 'Starts'],
  ends_at: ['结束', 'Ends'],
  elements: ['停电设备', 'Elements'],
  notices: ['通知', 'Notices'],
  message: ['消息', 'Message'],
  none: ['无', 'None'],
  all: ['全部', 'All'],
  rate: ['贯通率', 'Integration rate'],
  complete: ['完整', 'Complete'],
  incomplete: ['不完整', 'Incomplete'],
  active: ['在运客户', 'Active customers'],
  broken_links: ['断链', 'Broken links'],
  by_substation: ['按变电站', 'By substation'],
  by_line: ['按线路', 'By line'],
  by_transformer: ['按台区', 'By transformer area'],
  city: ['全市', 'Whole city'],
  other: ['另一端', 'Other end'],
  as_of: ['数据截至', 'Data as of'],
  events_hint: ['事件类型，用逗号分隔（空为全部）', 'Event types, comma-separated (empty: all)'],
  follow: ['跟踪', 'Follow'],
  pause: ['暂停', 'Pause'],
  connected: ['已连接', 'Connected'],
  disconnected: ['未连接', 'Disconnected'],
  at: ['时间', 'At'],
  app: ['应用', 'App'],
  seq: ['序号', 'Seq'],
  event: ['事件', 'Event'],
  not_found: ['没有这个对象', 'No such object'],
  error: ['出错了', 'Something failed'],
  loading: ['加载中…', 'Loading…'],
  changed_by: ['修改人', 'By'],
  version: ['版本', 'Version'],
};

let lang = localStorage.getItem('yingpei.lang') === 'en' ? 'en' : 'zh';

export function currentLang() { return lang; }

export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh';
  localStorage.setItem('yingpei.lang', lang);
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
}

// t('graph_capped', {n: 3, total: 9}): the word in the chosen language,
// its {names} filled in; an unknown key is shown as itself so a gap shows.
export function t(key, vars) {
  const w = WORDS[key];
  let s = w ? w[lang === 'en' ? 1 : 0] : key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// Static text of the page marked data-i18n.
export function translatePage(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}
