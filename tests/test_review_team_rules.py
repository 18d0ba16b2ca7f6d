"""Worked examples for programmes.review_team: who may not sit on a review team, and the mix."""

from programmes.review_team import Candidate, Service, check_team, conflicts, mix_problems

SERVICE = Service(organisation_id=1, organisation_name="Wyvern Valley NHS Trust",
                  network="North Thames Cancer Alliance")


def peer(**changes) -> Candidate:
    fields = {"reviewer_id": 10, "name": "Dr Ada Okafor", "is_patient_reviewer": False,
              "organisation_id": 2, "organisation_name": "Riverside NHS Trust",
              "network": "South Coast Cancer Alliance", **changes}
    return Candidate(**fields)


def patient(**changes) -> Candidate:
    fields = {"reviewer_id": 20, "name": "Pat Reviewer", "is_patient_reviewer": True,
              "organisation_id": None, **changes}
    return Candidate(**fields)


def test_a_trained_peer_from_another_network_may_review():
    assert conflicts(SERVICE, peer()) == []


def test_the_organisation_under_review_is_refused():
    assert conflicts(SERVICE, peer(organisation_id=1)) == [
        "Dr Ada Okafor works at Wyvern Valley NHS Trust, the organisation under review. "
        "Choose a reviewer from another organisation."]


def test_the_same_network_is_refused_whatever_its_case_and_spacing():
    found = conflicts(SERVICE, peer(network="  north thames CANCER alliance "))
    assert found == [
        "Dr Ada Okafor works at Riverside NHS Trust, in the same network as the service "
        "(North Thames Cancer Alliance). Choose a reviewer from outside the network."]


def test_a_blank_network_never_matches_another_blank_network():
    service = Service(organisation_id=1, organisation_name="Wyvern Valley NHS Trust",
                      network="")
    assert conflicts(service, peer(network="")) == []
    assert conflicts(service, peer(network="   ")) == []


def test_a_patient_reviewer_with_no_organisation_is_not_in_any_network():
    service = Service(organisation_id=1, organisation_name="Wyvern Valley NHS Trust",
                      network="")
    assert conflicts(service, patient()) == []


def test_a_declared_conflict_is_refused_with_what_was_declared():
    found = conflicts(SERVICE, peer(conflicts={1: "worked there until 2024"}))
    assert found == ["Dr Ada Okafor has declared a conflict of interest with Wyvern Valley "
                     "NHS Trust: worked there until 2024."]


def test_an_untrained_or_inactive_reviewer_is_refused():
    assert conflicts(SERVICE, peer(trained=False)) == [
        "Dr Ada Okafor has not completed reviewer training."]
    assert conflicts(SERVICE, peer(active=False)) == [
        "Dr Ada Okafor is no longer in the reviewer pool."]


def test_every_reason_is_given_at_once():
    found = conflicts(SERVICE, peer(organisation_id=1, trained=False,
                                    conflicts={1: "family member in the MDT"}))
    assert len(found) == 3


def test_two_peers_and_no_patient_reviewer_fails_the_default_mix():
    assert mix_problems([peer(), peer(reviewer_id=11)], min_clinical=1, min_patient=1) == [
        "The team needs at least 1 patient reviewer; it has none."]


def test_the_mix_counts_each_kind_and_names_plurals():
    assert mix_problems([patient()], min_clinical=2, min_patient=1) == [
        "The team needs at least 2 clinical peers; it has none."]
    assert mix_problems([peer(), patient()], min_clinical=2, min_patient=2) == [
        "The team needs at least 2 clinical peers; it has 1.",
        "The team needs at least 2 patient reviewers; it has 1."]
    assert mix_problems([peer(), patient()], min_clinical=1, min_patient=1) == []


def test_check_team_refuses_by_reviewer_and_reports_the_mix():
    check = check_team(SERVICE, [peer(organisation_id=1), patient()], min_clinical=1,
                       min_patient=1)
    assert set(check.refused) == {10}
    assert check.mix == [] and not check.ok
    assert check_team(SERVICE, [peer(), patient()], min_clinical=1, min_patient=1).ok
