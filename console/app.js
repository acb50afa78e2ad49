// The console's entry point.
document.title = '营配贯通 工作台';
