// Entry point: every page loads this module. The pages work without it;
// it adds copying, keyboard navigation, the trace tree's interactions and
// live refresh.
import { setupConfirm, setupCopy, setupDeferred, setupFilters, setupRelativeTimes, setupShowAll, setupTabs } from "./ui.js";
import { setupKeys } from "./keys.js";
import { setupAnnotate } from "./annotate.js";
import { setupFilterBar } from "./filterbar.js";
import { setupLists } from "./lists.js";
import { setupLive } from "./live.js";
import { setupTrace } from "./trace.js";
import { setupTextMode } from "./reading.js";
import { setupColumns } from "./columns.js";
import { setupSuggest } from "./suggest.js";

setupCopy(document);
setupConfirm(document);
setupRelativeTimes();
setupShowAll(document);
setupDeferred(document);
setupTabs(document);
setupFilters(document);
setupKeys();
setupLists(document);
setupFilterBar(document);
setupAnnotate(document);
setupLive();
setupTextMode(document);
setupColumns(document);
setupSuggest(document);
const trace = document.querySelector(".tracepage");
if (trace) setupTrace(trace);
