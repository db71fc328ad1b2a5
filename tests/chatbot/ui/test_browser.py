"""End to end in a real browser: `ragchat ui` serving the corpus, driven by headless Debian Chromium.

The browser and driver are the system's (/usr/bin/chromium, /usr/bin/chromedriver); Selenium
Manager is pointed at a path that does not exist, so any attempt to download a browser fails the
test instead of reaching the network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import child_env, free_port

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# Its quote sits deep in the corpus's longest document, so "Open in document" has to scroll to it.
QUESTION = "Which Pakistan Air Force base did militants try to attack on 4 November 2023?"
TITLE = "Pakistan and Afghanistan Relations in 2024: From Peril to Potential"
QUOTE = ("On 4 November, troops thwarted a militant assault on the highly sensitive Mianwali Training Air Base "
         "of the Pakistan Air Force, killing nine extremists.")
# Generous: the first question in a fresh process loads the embedding model on two shared cores.
PATIENCE_S = 240

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="needs Debian chromium and chromium-driver")]


@pytest.fixture
def app_url(corpus_settings, tmp_path, output_dir):
    """`ragchat ui` on a free port over the shared corpus store; stopped after the test."""
    with _ui(corpus_settings.store_path, tmp_path / "data", output_dir / "streamlit.log") as url:
        yield url


@pytest.fixture
def fresh_app_url(corpus_settings, tmp_path, output_dir):
    """`ragchat ui` over a copy of the corpus store that no session has opened yet."""
    store = tmp_path / "store"
    shutil.copytree(corpus_settings.store_path, store)
    with _ui(store, tmp_path / "data", output_dir / "streamlit.log") as url:
        yield url


@contextmanager
def _ui(store: Path, data: Path, log_path: Path):
    """This checkout's `ragchat ui` on a free port, until the block ends."""
    port = free_port()
    env = child_env(RAGCHAT_STORE_DIR=str(store), RAGCHAT_DATA_DIR=str(data))
    env.pop("RAGCHAT_BACKEND", None)
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "ragchat.cli", "ui", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, proc, log_path)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _wait_until_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ragchat ui exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"ragchat ui did not come up: {log.read_text()[-2000:]}")


@pytest.fixture
def browser(tmp_path, monkeypatch):
    monkeypatch.setenv("SE_MANAGER_PATH", str(tmp_path / "no-selenium-manager"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
                "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,1700"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def test_question_streams_into_a_cited_answer_with_the_quote_highlighted(app_url, browser, output_dir):
    wait = WebDriverWait(browser, PATIENCE_S)
    browser.get(app_url)
    box = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")))
    box.send_keys(QUESTION, Keys.ENTER)

    # The streamed answer is replaced by the final one, with its sources, when the stream ends.
    mark = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, ".rc-passage mark")))
    answer = browser.find_element(By.CSS_SELECTOR, ".rc-answer")
    assert "Mianwali" in answer.text and "[1]" in answer.text
    assert browser.find_element(By.CSS_SELECTOR, ".rc-answer .rc-marker").is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, ".rc-source").text == TITLE
    assert mark.text == QUOTE and mark.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", answer)
    browser.save_screenshot(str(output_dir / "answer.png"))

    # "Open in document" shows the whole document, scrolled to the same quote.
    browser.find_element(By.XPATH, "//button[.//p[text()='Open in document']]").click()
    quote = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "[role='dialog'] .rc-document mark")))
    assert quote.text == QUOTE
    document = browser.find_element(By.CSS_SELECTOR, "[role='dialog'] .rc-document")
    wait.until(lambda _: document.get_property("scrollTop") > 0 and browser.execute_script(
        "const q = arguments[0].getBoundingClientRect(), box = arguments[1].getBoundingClientRect();"
        "return q.top >= box.top && q.bottom <= box.bottom;", quote, document))
    browser.save_screenshot(str(output_dir / "document.png"))


def test_ten_sessions_opened_and_asking_at_once_each_get_their_answer(fresh_app_url, browser, output_dir):
    """Ten tabs are ten Streamlit sessions, each run in its own thread of one process: they open the
    library at the same moment and ask together, and every one gets the cited answer, no error."""
    wait = WebDriverWait(browser, PATIENCE_S)
    tabs = []
    for n in range(10):
        if n:
            browser.switch_to.new_window("tab")
        browser.get(fresh_app_url)
        tabs.append(browser.current_window_handle)
    for tab in tabs:
        browser.switch_to.window(tab)
        box = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")))
        box.send_keys(QUESTION, Keys.ENTER)
    failed = "[data-testid='stException'], [data-testid='stAlertContentError']"
    for n, tab in enumerate(tabs):
        browser.switch_to.window(tab)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f".rc-passage mark, {failed}"))
        assert not browser.find_elements(By.CSS_SELECTOR, failed), \
            f"session {n}: {browser.find_element(By.CSS_SELECTOR, failed).text}"
        assert browser.find_element(By.CSS_SELECTOR, ".rc-passage mark").text == QUOTE, n
    browser.save_screenshot(str(output_dir / "tenth-session.png"))
