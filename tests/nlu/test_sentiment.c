/* test_sentiment.c: fd_nlu_sentiment (src/nlu/sentiment.c): the calibration
 * points, ordering, negation, boosters, caps, French. */
#include "support.h"
#include "nlu.h"

static fd_sentiment s(const char *text)
{
    return fd_nlu_sentiment(fd_str_c(text), FD_LANG_UNKNOWN);
}

static void test_calibration(void **state)
{
    (void)state;
    fd_sentiment angry = s("this is unacceptable, the boxes arrived crushed AGAIN!!!");
    assert_true(angry.score < -0.5);
    assert_true(angry.complaint > 0.7);
    fd_sentiment happy = s("thanks, that's great");
    assert_true(happy.score > 0.3);
    assert_true(happy.complaint == 0);
    fd_sentiment neutral = s("what time do you close");
    assert_true(neutral.score > -0.05 && neutral.score < 0.05);
    assert_true(neutral.complaint == 0);
}

static void test_ordering(void **state)
{
    (void)state;
    /* each is more negative than the one before */
    static const char *const order[] = {
        "thank you so much, excellent service!!",
        "thanks, that's great",
        "ok noted",
        "the lids are not good",
        "the boxes arrived crushed",
        "this is unacceptable, the boxes arrived crushed AGAIN!!!",
    };
    for (size_t i = 1; i < sizeof order / sizeof order[0]; i++)
        if (!(s(order[i]).score < s(order[i - 1]).score))
            fail_msg("'%s' (%.2f) not below '%s' (%.2f)", order[i], s(order[i]).score, order[i - 1],
                     s(order[i - 1]).score);
}

static void test_modifiers(void **state)
{
    (void)state;
    assert_true(s("not happy").score < 0);
    assert_true(s("happy").score > 0);
    assert_true(s("very happy").score > s("happy").score);
    assert_true(s("bad!!!").score < s("bad").score);
    assert_true(s("this is BAD").score < s("this is bad").score);
    assert_true(s("no problem").score > 0); /* negated problem */
    assert_true(s("my order never arrived").complaint > 0.5);
    assert_true(s("my order never arrived").score < 0);
    assert_true(s("the cups are leaking, I want a refund").complaint > 0.5);
    assert_true(s("disgusting").complaint > s("late").complaint);
}

static void test_french(void **state)
{
    (void)state;
    assert_true(s("merci, c'est parfait").score > 0.3);
    assert_true(s("je ne suis pas content").score < 0);
    assert_true(s("les boîtes sont arrivées écrasées, c'est inacceptable !").score < -0.5);
    assert_true(s("colis jamais reçu").complaint > 0.5);
    assert_true(s("à quelle heure fermez-vous").score == 0);
}

static void test_odd_text(void **state)
{
    (void)state;
    assert_true(s("").score == 0);
    assert_true(s("\xff\xfe\x80 !!!").score == 0);
    fd_sentiment x = fd_nlu_sentiment((fd_str){NULL, 0}, FD_LANG_EN);
    assert_true(x.score == 0 && x.complaint == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calibration), cmocka_unit_test(test_ordering),
        cmocka_unit_test(test_modifiers),   cmocka_unit_test(test_french),
        cmocka_unit_test(test_odd_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
